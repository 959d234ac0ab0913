"""What a running profile does to the cluster, done the way the leader's job endpoints do it:
jobs start through each worker's unit API (the one fan-out function), and stop, pause, resume
and setting changes travel as MQTT ``/set`` messages; settings are read from the unit API."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from pioleader.api.assignments.store import AssignmentStore
from pioleader.api.jobs.models import RunJobRequest
from pioleader.api.jobs.requests import RunTarget, run_request, setting_payload
from pioleader.bus import Bus, topics
from pioleader.cluster import UnitClient, UnitRequest, fanout
from pioleader.errors import ApiError
from pioleader.profiles.execution import ActionFailed, JobStart


class LeaderCluster:
    def __init__(self, *, units: UnitClient, assignments: AssignmentStore, bus: Bus) -> None:
        self._units = units
        self._assignments = assignments
        self._bus = bus
        self._targets: dict[str, RunTarget] = {}

    async def workers_of(self, experiment: str) -> list[str]:
        """The active workers assigned to the experiment."""
        workers = [w for w in await self._assignments.workers_in(experiment) if w.is_active]
        self._targets.update(
            {
                w.pioreactor_unit: RunTarget(w.pioreactor_unit, w.model_name, w.model_version)
                for w in workers
            }
        )
        return [w.pioreactor_unit for w in workers]

    async def start(self, unit: str, job: str, experiment: str, start: JobStart) -> None:
        try:
            body = RunJobRequest.model_validate(
                {
                    "options": dict(start.options),
                    "env": {"JOB_SOURCE": "experiment_profile"},
                    "args": start.args,
                    "config_overrides": [list(o) for o in start.config_overrides],
                }
            )
        except ValidationError as error:
            raise ActionFailed(f"invalid start request: {error.errors()[0]['msg']}") from error
        target = self._targets.get(unit, RunTarget(unit, None, None))
        request = run_request(job, experiment, body, target)
        envelope = (await fanout(self._units, [unit], request))[unit]
        if not envelope["ok"]:
            failure = envelope["error"]
            raise ActionFailed(f"{failure['message']} {failure.get('cause') or ''}".strip())

    async def set_setting(
        self, unit: str, job: str, experiment: str, setting: str, value: Any
    ) -> None:
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise ActionFailed(f"{setting} must be a number, text or true/false, not {value!r}")
        try:
            await self._bus.publish(
                topics.set_job_setting(unit, experiment, job, setting),
                setting_payload(value),
                qos=1,
            )
        except ApiError as error:  # the broker is down (503), or a name cannot be a topic
            raise ActionFailed(f"{error.error} {error.cause}") from error

    async def read_setting(self, unit: str, job: str, setting: str) -> str | None:
        path = f"/unit_api/jobs/settings/job_name/{job}/setting/{setting}"
        envelope = (await fanout(self._units, [unit], UnitRequest("GET", path)))[unit]
        if not envelope["ok"] or not isinstance(envelope["value"], dict):
            return None
        value = envelope["value"].get(setting)
        return None if value is None else str(value)
