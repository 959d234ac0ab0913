"""Experiment profiles: the YAML format, its checks, and running a profile (behaviour §3.10)."""
