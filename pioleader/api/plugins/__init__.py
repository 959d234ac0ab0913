"""Plugins of the units of the cluster."""
