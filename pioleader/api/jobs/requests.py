"""What a unit is sent to start a job or change a setting; shared by the job endpoints and
the experiment profiles the leader runs (no service state here, so both can import it)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pioleader.api.jobs.models import RunJobRequest, Scalar
from pioleader.cluster import UnitRequest


@dataclass(frozen=True)
class RunTarget:
    """A worker a job is started on, with what the leader knows of its model."""

    unit: str
    model_name: str | None
    model_version: str | None


def run_request(
    job_name: str, experiment: str, body: RunJobRequest, target: RunTarget
) -> UnitRequest:
    """What one worker is sent: the caller's body, with the leader's part of the environment.

    The leader's keys win over the caller's: the path names the experiment, and a started job
    is always active.
    """
    env = {**body.env, "EXPERIMENT": experiment, "ACTIVE": "1"}
    if target.model_name and target.model_version:
        env["MODEL_NAME"] = target.model_name
        env["MODEL_VERSION"] = target.model_version
    return UnitRequest(
        "POST",
        f"/unit_api/jobs/run/job_name/{job_name}",
        json={
            "options": body.options,
            "env": env,
            "args": body.args,
            "config_overrides": body.config_overrides,
        },
    )


def setting_payload(value: Scalar) -> str:
    """Strings go as they are (what a job's setter expects); anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
