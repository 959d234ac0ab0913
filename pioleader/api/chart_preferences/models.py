"""Bodies of ``/api/experiments/{experiment}/chart_preferences``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_CHARTS = 100

ChartKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="A chart's key, as GET /api/charts/descriptors names it.",
    ),
]
ChartKeys = Annotated[
    list[ChartKey] | None,
    Field(
        max_length=MAX_CHARTS,
        description="Chart keys in display order; null: the configured defaults; []: none.",
    ),
]


class ChartPreferences(BaseModel):
    overview_chart_keys: ChartKeys = None
    pioreactor_chart_keys: ChartKeys = None


def _distinct(keys: list[str] | None, field: str) -> None:
    if keys is not None and len(set(keys)) != len(keys):
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"{field} lists {', '.join(duplicates)} more than once")


class ChartPreferencesUpdate(BaseModel):
    """At least one of the two lists; an omitted one is left as it is."""

    model_config = ConfigDict(extra="forbid")

    overview_chart_keys: ChartKeys = None
    pioreactor_chart_keys: ChartKeys = None

    @model_validator(mode="after")
    def _check(self) -> ChartPreferencesUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "give overview_chart_keys or pioreactor_chart_keys (a list of chart keys, "
                "or null for the defaults)"
            )
        _distinct(self.overview_chart_keys, "overview_chart_keys")
        _distinct(self.pioreactor_chart_keys, "pioreactor_chart_keys")
        return self
