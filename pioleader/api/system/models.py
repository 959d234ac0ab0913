"""Request bodies of the system endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pioleader.clock import format_timestamp, parse_timestamp

# The variables a unit keeps per experiment (behaviour §3.3); the unit also caps volumes at its
# model's capacity, which only it knows for sure.
BioreactorVariable = Literal[
    "current_volume_ml",
    "efflux_tube_volume_ml",
    "alt_media_fraction",
    "cumulative_media_added_ml",
    "cumulative_alt_media_added_ml",
    "cumulative_waste_removed_ml",
]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class BioreactorUpdate(BaseModel):
    """New bioreactor values for the experiment, by variable."""

    model_config = ConfigDict(extra="forbid", strict=True)

    values: dict[BioreactorVariable, NonNegative] = Field(
        min_length=1, description="Variable to new value; every value is >= 0."
    )

    @model_validator(mode="after")
    def _fraction_at_most_one(self) -> BioreactorUpdate:
        fraction = self.values.get("alt_media_fraction")
        if fraction is not None and fraction > 1:
            raise ValueError(f"values.alt_media_fraction must be at most 1, not {fraction:g}")
        return self


def _utc_timestamp(text: str) -> str:
    """Accept ISO-8601 with a time zone; normalise to UTC ``...Z`` for the units."""
    try:
        moment = parse_timestamp(text)
    except ValueError as error:
        raise ValueError(
            "must be an ISO-8601 time with a time zone, e.g. 2026-01-01T00:00:00Z"
        ) from error
    return format_timestamp(moment)


class SetClock(BaseModel):
    """The time to set the cluster's clocks to."""

    model_config = ConfigDict(extra="forbid", strict=True)

    utc_clock_time: Annotated[
        str,
        AfterValidator(_utc_timestamp),
        Field(description="ISO-8601 time with a time zone, e.g. 2026-01-01T00:00:00Z."),
    ]
