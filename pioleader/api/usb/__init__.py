"""USB drives of the units."""
