"""Bodies of the experiment-assignment endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pioleader.api.names import WorkerName


class WorkerAssignment(BaseModel):
    pioreactor_unit: str
    experiment: str | None = Field(description="The experiment the worker is in, or null.")
    is_active: int


class ExperimentWorker(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    pioreactor_unit: str
    is_active: int
    model_name: str | None
    model_version: str | None


class AssignWorker(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    pioreactor_unit: WorkerName


class HistoricalAssignment(BaseModel):
    pioreactor_unit: str
    experiment: str
    is_currently_assigned_to_experiment: int = Field(description="1 if still assigned, else 0.")


class AssignmentMessage(BaseModel):
    """The retained payload of ``pioreactor/<unit>/$experiment/assignment``."""

    pioreactor_unit: str
    experiment: str | None
    assigned_at: str | None
    updated_at: str
