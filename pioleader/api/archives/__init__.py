"""Backups of units: their data directories as zip files."""
