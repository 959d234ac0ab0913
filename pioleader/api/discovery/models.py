"""Bodies and answers of discovery and worker setup."""

from __future__ import annotations

from ipaddress import IPv4Address

from pydantic import BaseModel, ConfigDict, Field

from pioleader.api.names import WorkerName
from pioleader.api.workers.models import ModelName, ModelVersion


class DiscoveredWorker(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    pioreactor_unit: str
    address: str = Field(description="The IPv4 address it announces.")
    port: int = Field(description="The port of its unit API.")
    model_name: str | None
    model_version: str | None
    version: str | None = Field(description="Its software version.")


class WorkerSetup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: WorkerName
    model: ModelName = Field(description="Model name, e.g. pioreactor_40ml.")
    version: ModelVersion = Field(description="Model version, e.g. 1.5.")
    ipv4_address: IPv4Address | None = Field(
        default=None,
        strict=False,  # parsed from its text form
        description="Where the worker is, when it does not announce itself.",
    )


class WorkerAdded(BaseModel):
    msg: str
