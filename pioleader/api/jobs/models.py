"""Request and response bodies of the job-control endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# A job name is one CLI word and one MQTT topic level (``pio run <job_name>``).
JOB_NAME_PATTERN = r"^[a-z0-9_]+$"
JOB_NAME_MAX_LENGTH = 64
# A published setting of a job; ``$state`` is the job's lifecycle state.
SETTING_PATTERN = r"^[A-Za-z0-9_$]+$"
SETTING_MAX_LENGTH = 64

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Scalar = str | int | FiniteFloat | bool | None
SettingName = Annotated[
    str, Field(pattern=SETTING_PATTERN, max_length=SETTING_MAX_LENGTH, description="A setting.")
]
ConfigOverride = Annotated[
    list[str],
    Field(min_length=3, max_length=3, description="[section, key, value] for this run only."),
]


class RunJobRequest(BaseModel):
    """How to start a job; every field is optional, but the body must be a JSON object."""

    model_config = ConfigDict(extra="forbid", strict=True)

    options: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Job options by name (``--<name> <value>``; null means a bare flag).",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment of the job, e.g. JOB_SOURCE. The leader sets "
        "EXPERIMENT, ACTIVE and MODEL_NAME/MODEL_VERSION itself.",
    )
    args: list[str] = Field(default_factory=list, description="Positional arguments.")
    config_overrides: list[ConfigOverride] = Field(
        default_factory=list, description="[section, key, value] triples for this run only."
    )


class UpdateJobRequest(BaseModel):
    """New values for settings of a running job."""

    model_config = ConfigDict(extra="forbid", strict=True)

    settings: dict[SettingName, Scalar] = Field(
        min_length=1,
        description="Setting name to new value; strings are sent as they are, other values "
        "as JSON.",
    )


class Accepted(BaseModel):
    """The request was handed to the cluster; there is no task to poll."""

    status: Literal["accepted"] = "accepted"


class StopRequested(BaseModel):
    """The stop request was sent to the units; there is no task to poll."""

    status: Literal["success"] = "success"
