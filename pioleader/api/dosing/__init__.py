"""Dosing summaries of an experiment (behaviour §3.1, media_rates)."""
