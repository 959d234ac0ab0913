"""Request and response bodies of ``/api/experiments``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pioleader.api.names import NewExperimentName

MAX_TAGS = 100
MAX_TAG_LENGTH = 200


def normalise_tags(tags: list[str]) -> list[str]:
    """Trim, drop empties, and remove case-insensitive duplicates keeping the first spelling."""
    seen: set[str] = set()
    kept: list[str] = []
    for tag in tags:
        cleaned = tag.strip()
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            kept.append(cleaned)
    return kept


Tags = Annotated[
    list[Annotated[str, Field(max_length=MAX_TAG_LENGTH)]],
    Field(max_length=MAX_TAGS, description="Free-form tags; trimmed and de-duplicated."),
    AfterValidator(normalise_tags),
]
Description = Annotated[str, Field(max_length=10_000)]


class Experiment(BaseModel):
    experiment: str
    created_at: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.mmmZ.")
    description: str | None
    delta_hours: float = Field(description="Whole hours since creation.")
    worker_count: int = Field(description="Workers currently assigned to the experiment.")
    tags: list[str]


class ExperimentCreate(BaseModel):
    """A new experiment. Unknown keys are refused, except the read-only keys of an
    ``Experiment`` (so a client may send back what it read), which are ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    experiment: NewExperimentName
    description: Description | None = None
    tags: Tags = Field(default_factory=list)
    media_used: Annotated[str | None, Field(alias="mediaUsed", max_length=500)] = None
    organism_used: Annotated[str | None, Field(alias="organismUsed", max_length=500)] = None
    created_at: Any = Field(default=None, exclude=True, description="Ignored.")
    delta_hours: Any = Field(default=None, exclude=True, description="Ignored.")
    worker_count: Any = Field(default=None, exclude=True, description="Ignored.")


class ExperimentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    description: Description | None = None
    tags: Tags | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ExperimentUpdate:
        if self.description is None and self.tags is None:
            raise ValueError("give 'description', 'tags' or both")
        return self


class ExperimentCount(BaseModel):
    experiment: str
    worker_count: int


class HistoricalValue(BaseModel):
    key: str


class DatabaseSpace(BaseModel):
    page_size: int
    page_count: int
    freelist_count: int
    allocated_bytes: int
    reclaimable_bytes: int
    reclaimable_fraction: float


class ExperimentDeleted(BaseModel):
    """The result of the task started by ``DELETE /api/experiments/{experiment}``."""

    result: bool = True
    experiment: str
    database_space: DatabaseSpace
    msg: str = "Deleted experiment"
