"""Response body of the time-series endpoints and the sources they read."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, Field


class Point(BaseModel):
    x: str = Field(description="The reading's timestamp, as stored (UTC, ms, 'Z').")
    y: float


class TimeSeries(BaseModel):
    """``data[i]`` holds the points of ``series[i]``, oldest first."""

    series: list[str] = Field(
        description="Series labels: unit names, or '<unit>-<channel>' for per-channel sources."
    )
    data: list[list[Point]]


@dataclass(frozen=True)
class RenderedSeries:
    """A ``TimeSeries`` whose point arrays SQLite has already rendered as JSON text."""

    series: list[str]
    data: list[str]  # one JSON array of {"x", "y"} per label

    def render(self) -> bytes:
        """The ``TimeSeries`` body, without building a Python object per point."""
        return (
            '{"series":' + json.dumps(self.series) + ',"data":[' + ",".join(self.data) + "]}"
        ).encode()


@dataclass(frozen=True)
class Source:
    """Where a chart's values live.

    ``table`` and ``column`` are SQL identifiers: they come from the fixed table below, or,
    for the fallback route, from names checked against the schema (``store.TimeSeriesStore``).
    """

    table: str
    column: str
    per_channel: bool = False
    digits: int = 7
    skip_nulls: bool = False  # fallback columns may be NULL on some rows


# Behaviour §4's table; rounding: growth rate 5 decimals, temperature 2, every OD source 7.
SOURCES: dict[str, Source] = {
    "growth_rates": Source("growth_rates", "rate", digits=5),
    "temperature_readings": Source("temperature_readings", "temperature_c", digits=2),
    "od_readings_filtered": Source("od_readings_filtered", "normalized_od_reading"),
    "od_readings": Source("od_readings", "od_reading", per_channel=True),
    "od_readings_fused": Source("od_readings_fused", "od_reading"),
    "raw_od_readings": Source("raw_od_readings", "od_reading", per_channel=True),
}
