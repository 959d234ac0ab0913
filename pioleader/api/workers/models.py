"""Request and response bodies of the worker inventory."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from pioleader.api.models.catalog import PioreactorModel
from pioleader.api.names import WorkerName

ModelName = Annotated[str, Field(min_length=1, max_length=100)]
ModelVersion = Annotated[str, Field(min_length=1, max_length=20)]


class Worker(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    pioreactor_unit: str
    added_at: str
    is_active: int = Field(description="1 if active, 0 if not.")
    model_name: str | None
    model_version: str | None


class WorkerListed(Worker):
    ipv4_address: str | None = Field(
        description="The unit's IPv4 address from [cluster.addresses], if configured."
    )


class WorkerAdd(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    pioreactor_unit: WorkerName
    model_name: ModelName | None = None
    model_version: ModelVersion | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> WorkerAdd:
        if (self.model_name is None) != (self.model_version is None):
            raise ValueError("give both 'model_name' and 'model_version', or neither")
        return self


class WorkerActive(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # StrictInt with bounds, not Literal[0, 1]: a Literal accepts true, false and 1.0 (they
    # compare equal to 1 and 0) even in strict mode.
    is_active: StrictInt = Field(ge=0, le=1, description="1 to activate, 0 to deactivate.")


class WorkerModelChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    model_name: ModelName
    model_version: ModelVersion


class WorkerModel(PioreactorModel):
    """A worker's model: the model's full record and the worker's name."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    pioreactor_unit: str


class WorkerExperiment(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    pioreactor_unit: str
    is_active: int
    experiment: str
    model_name: str | None
    model_version: str | None


class Status(BaseModel):
    status: Literal["success", "accepted"] = "success"
