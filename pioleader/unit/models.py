"""Bodies of the unit API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = str | int | float | bool | None


class RunJob(BaseModel):
    """How to start a job; every field is optional, but the body must be a JSON object."""

    model_config = ConfigDict(extra="forbid", strict=True)

    options: dict[str, Scalar] = Field(default_factory=dict, description="Job options by name.")
    env: dict[str, str] = Field(
        default_factory=dict, description="EXPERIMENT (required), JOB_SOURCE, …"
    )
    args: list[str] = Field(default_factory=list, description="Positional arguments.")
    config_overrides: list[Annotated[list[str], Field(min_length=3, max_length=3)]] = Field(
        default_factory=list, description="[section, key, value] triples for this run only."
    )


class StopJobs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    job_name: str | None = None
    experiment: str | None = None
    job_source: str | None = None
    job_id: int | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> StopJobs:
        if all(v is None for v in (self.job_name, self.experiment, self.job_source, self.job_id)):
            raise ValueError("give at least one of job_name, experiment, job_source, job_id")
        return self


class RunningJob(BaseModel):
    job_id: int
    unit: str
    experiment: str
    job_name: str
    job_source: str
    started_at: str
    is_running: int
    leader: str | None
    pid: int | None
    is_long_running_job: int
    ended_at: str | None


class JobSettings(BaseModel):
    settings: dict[str, str | None]


class BioreactorValues(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    values: dict[str, float] = Field(min_length=1)


class BioreactorState(BaseModel):
    values: dict[str, float]


class ClockTime(BaseModel):
    status: Literal["success"] = "success"
    clock_time: str


class SetClock(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    utc_clock_time: str = Field(description="ISO-8601 time with a time zone.")


class Version(BaseModel):
    version: str


class SpaceBytes(BaseModel):
    available_bytes: int
    total_bytes: int


class DirectoryListing(BaseModel):
    dirs: list[str] = Field(description="Names of the subdirectories, sorted.")
    files: list[str] = Field(description="Names of the files, sorted.")


class Ipv4Address(BaseModel):
    ipv4_address: str


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    pioreactor_unit: str
    utc_time: str


class Capability(BaseModel):
    job_name: str
    automation_name: str | None
    help: str
    arguments: list[Any]
    options: list[dict[str, Any]]
    published_settings: dict[str, dict[str, Any]]
    cli_example: str


class ConfigCode(BaseModel):
    """The whole text of a configuration file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    code: str = Field(
        max_length=1_000_000,
        description='INI text, e.g. "[stirring.config]\\ninitial_target_rpm=400\\n".',
    )


class PluginCommand(BaseModel):
    """Install or uninstall one plugin: ``{"args": [name], "options": {"source": …}}``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    args: list[str] = Field(
        min_length=1, max_length=1, description="Exactly one plugin (distribution) name."
    )
    options: dict[str, str] = Field(
        default_factory=dict,
        description="source: a wheel, sdist or folder on the unit (or a URL, if allowed).",
    )
    env: dict[str, str] = Field(default_factory=dict, description="Ignored; kept for clients.")


class InstalledPlugin(BaseModel):
    name: str
    version: str
    description: str
    homepage: str
    author: str
    source: str = Field(description='"pip", or "plugins/<file>.py" for a single-file plugin.')


class UsbDevice(BaseModel):
    """Which drive to mount or eject; optional (a unit has one)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    device: str | None = Field(default=None, max_length=200, description="e.g. usb0.")


class UsbPartition(BaseModel):
    device: str
    display_name: str
    path: str


class UsbStatus(BaseModel):
    status: Literal[
        "absent",
        "present_unmounted",
        "mounted",
        "mounted_readonly",
        "multiple_present",
        "unsupported",
        "error",
    ]
    partitions: list[UsbPartition]
    active_mount: str | None
    error: str | None = None


class UsbUpdateFile(BaseModel):
    path: str
    version: str


class UsbPluginArtifact(BaseModel):
    path: str
    name: str
    version: str
    kind: Literal["wheel", "python_file"]


class UsbArtifacts(BaseModel):
    mountpoint: str
    updates: list[UsbUpdateFile]
    plugins: list[UsbPluginArtifact]
    writable: bool
    free_bytes: int


class PluginFile(BaseModel):
    """A plugin file sent by the leader (from its USB drive): a wheel or a single .py file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    filename: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}\.(?:whl|py)$",
        description="The file's name: <dist>-<version>-<tags>.whl or <name>.py.",
    )
    content_base64: str = Field(description="The file's bytes, base64-encoded.")


class UpdateRequest(BaseModel):
    """What to update to; both optional (the newest release)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    target_version: str | None = Field(default=None, max_length=64, description="e.g. 0.2.0.")
    source: str | None = Field(
        default=None, max_length=300, description="Where the release comes from (an archive)."
    )
