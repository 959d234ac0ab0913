"""Exportable datasets: their definitions (YAML) and the streaming export to zipped CSV."""
