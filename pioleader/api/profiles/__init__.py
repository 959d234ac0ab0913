"""Experiment profile runs recorded by the ingester (behaviour §3.10)."""
