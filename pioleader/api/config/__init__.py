"""Configuration across the cluster (behaviour §3.7, §7)."""
