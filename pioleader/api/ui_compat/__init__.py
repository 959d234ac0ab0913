"""Paths of official UI builds up to 25.11 (the newest ``pioreactor`` wheel on PyPI), which
predate the seed's paths: the same answers, at the paths those builds ask."""
