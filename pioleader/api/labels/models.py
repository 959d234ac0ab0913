"""Bodies of ``/api/experiments/{experiment}/unit_labels``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class LabelUpsert(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    unit: Annotated[str, Field(min_length=1, description="A registered unit.")]
    label: Annotated[
        str, Field(max_length=100, description="The label; an empty label removes the unit's.")
    ]
