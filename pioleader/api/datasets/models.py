"""Bodies of the dataset endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pioleader.clock import format_timestamp, parse_timestamp


def _explicit_time_zone(text: str) -> str:
    """An ISO-8601 time that says its time zone, normalised to the stored UTC format."""
    try:
        return format_timestamp(parse_timestamp(text))
    except ValueError as error:
        raise ValueError(
            f"{text!r} is not an ISO-8601 time with a time zone (e.g. 2026-01-01T00:00:00Z "
            "or 2026-01-01T01:00:00+01:00)"
        ) from error


ZonedTime = Annotated[str, AfterValidator(_explicit_time_zone)]


class ExportBody(BaseModel):
    """What to export. Both the seed's ``experiments`` list (empty: every experiment) and the
    newer single ``experiment`` are accepted; times need an explicit time zone and bound the
    dataset's time column inclusively."""

    model_config = ConfigDict(extra="forbid", strict=True)

    datasets: Annotated[list[str], Field(min_length=1, max_length=50)]
    experiments: list[str] | None = None
    experiment: str | None = None
    partition_by_experiment: bool = False
    partition_by_unit: bool = False
    start_time: ZonedTime | None = None
    end_time: ZonedTime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ExportBody:
        if self.experiments is not None and self.experiment is not None:
            raise ValueError("give 'experiments' or 'experiment', not both")
        if self.start_time and self.end_time and self.start_time > self.end_time:
            raise ValueError("start_time is after end_time")
        return self

    @property
    def experiment_list(self) -> list[str]:
        if self.experiment is not None:
            return [self.experiment]
        return list(dict.fromkeys(self.experiments or []))


class ExportResult(BaseModel):
    """The result of an export task."""

    result: bool = True
    filename: str
    msg: str = "Finished"
    rows: dict[str, int] = Field(description="Rows written per dataset.")
    path: str | None = Field(default=None, description="Where on the USB drive (to USB only).")
