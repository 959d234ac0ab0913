"""The unit API (``/unit_api``), served by every worker and by the leader.

GET /unit_api/health, GET /unit_api/task_results/{task_id}; jobs: run, stop, stop all,
running, settings; capabilities; versions/app; bioreactor; system reboot, shutdown, repair,
utc_clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from pioleader.bus import BusUnavailable, topics
from pioleader.clock import format_timestamp, parse_timestamp
from pioleader.errors import ApiError, error_responses
from pioleader.tasks import STILL_RUNNING, TaskAccepted, TaskStatus
from pioleader.unit import (
    archive_router,
    config,
    plugins_router,
    system_router,
    update_router,
    usb_router,
)
from pioleader.unit.bioreactor import check_value
from pioleader.unit.calibrations import estimators_router as estimators
from pioleader.unit.calibrations import router as calibrations
from pioleader.unit.calibrations import sessions_router as calibration_sessions
from pioleader.unit.deps import UnitDep
from pioleader.unit.jobs.base import JobRefused
from pioleader.unit.jobs.catalog import describe
from pioleader.unit.manager import AlreadyRunning, InvalidOption, TooSoon, UnknownJob
from pioleader.unit.models import (
    BioreactorState,
    BioreactorValues,
    Capability,
    ClockTime,
    Health,
    JobSettings,
    RunJob,
    RunningJob,
    SetClock,
    StopJobs,
    Version,
)
from pioleader.unit.services import UnitServices

router = APIRouter(prefix="/unit_api", tags=["unit api"])

_JOB_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


JobNamePath = Annotated[str, Path(description="Job name, e.g. stirring.", max_length=64)]


def _check_job_name(job_name: str) -> str:
    if not _JOB_NAME.match(job_name):
        raise ApiError(
            400,
            "Invalid job name.",
            cause=f"job_name {job_name!r} must be lowercase letters, digits and '_'.",
            remediation="GET /unit_api/capabilities lists the jobs of this unit.",
        )
    return job_name


@router.get("/health", response_model=Health, responses=error_responses())
async def health_check(unit: UnitDep) -> Health:
    return Health(pioreactor_unit=unit.name, utc_time=format_timestamp(unit.clock.now()))


@router.get(
    "/task_results/{task_id}",
    response_model=TaskStatus,
    response_model_exclude_none=True,
    responses={**STILL_RUNNING, **error_responses(404)},
)
async def get_task_status(
    task_id: Annotated[str, Path(max_length=100)], unit: UnitDep, response: Response
) -> TaskStatus:
    """A task's state: 202 while pending or running, 200 once succeeded or failed."""
    status = await unit.tasks.status(task_id, unit.clock.now())
    if status is None:
        raise ApiError(
            404,
            "Unknown task",
            cause=f"No task {task_id!r} exists on this unit, or its result has expired.",
            remediation="Use the result_url_path of a 202 answer from this unit; results are "
            "kept for [pioleader] task_result_ttl_hours.",
        )
    if status.status in ("pending", "running"):
        response.status_code = 202
    return status


@router.post(
    "/jobs/run/job_name/{job_name}",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404, 409, 429),
)
@router.patch(
    "/jobs/run/job_name/{job_name}",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404, 409, 429),
)
async def run_job(job_name: JobNamePath, body: RunJob, unit: UnitDep) -> TaskAccepted:
    """Start a job; the task succeeds with ``{"ok": true, "job_id"}`` once the job is ready."""
    _check_job_name(job_name)
    try:
        job_class = unit.jobs.job_class(job_name)
    except UnknownJob as exc:
        raise ApiError(
            404,
            f"Unknown job {job_name!r}.",
            cause=f"{unit.name} has no job named {job_name!r}.",
            remediation=f"Jobs of this unit: {', '.join(sorted(unit.jobs.catalog)) or 'none'}.",
        ) from exc
    experiment = body.env.get("EXPERIMENT", "").strip()
    if not experiment:
        raise ApiError(
            400,
            "Missing experiment.",
            cause="env.EXPERIMENT is not set.",
            remediation='Send {"env": {"EXPERIMENT": "<experiment>"}} (the leader does).',
        )
    topics.segment(experiment, "experiment")
    unknown = sorted(set(body.options) - set(job_class.options))
    if unknown:
        raise ApiError(
            400,
            "Unknown job option.",
            cause=f"options.{unknown[0]} is not an option of {job_name}.",
            remediation=f"Options of {job_name}: {', '.join(job_class.options) or 'none'}.",
        )
    try:
        await unit.jobs.check(
            job_name,
            experiment=experiment,
            options=body.options,
            config_overrides=[(s, k, v) for s, k, v in body.config_overrides],
        )
    except InvalidOption as exc:
        raise ApiError(
            400,
            f"Invalid options for {job_name}.",
            cause=str(exc),
            remediation=f"GET /unit_api/capabilities lists {job_name}'s options and types.",
        ) from exc
    running = {job.job_name: job.job_id for job in unit.jobs.running_jobs()}
    if job_name in running:
        raise ApiError(
            409,
            f"{job_name} is already running.",
            cause=f"{job_name} is already running on {unit.name} (job_id={running[job_name]}).",
            remediation="Stop it first, or change its settings through …/jobs/update/….",
        )

    async def start() -> dict[str, Any]:
        try:
            job_id = await unit.jobs.start(
                job_name,
                experiment=experiment,
                options=body.options,
                env=body.env,
                config_overrides=[(s, k, v) for s, k, v in body.config_overrides],
                job_source=body.env.get("JOB_SOURCE", "user"),
                args=body.args,
            )
        except AlreadyRunning as exc:
            raise ApiError(409, str(exc), remediation="Stop it first.") from exc
        except TooSoon as exc:
            raise ApiError(
                429,
                f"{job_name} was started less than a second ago.",
                remediation="Wait a second and retry.",
            ) from exc
        except (InvalidOption, JobRefused) as exc:
            raise ApiError(400, f"{job_name} did not start.", cause=str(exc)) from exc
        return {"ok": True, "job_id": job_id}

    return await unit.tasks.submit(f"run {job_name}", start)


@router.post(
    "/jobs/stop", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
@router.patch(
    "/jobs/stop", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
async def stop_jobs(body: StopJobs, unit: UnitDep) -> TaskAccepted:
    """Stop the running jobs matching every given filter; the result names them."""

    async def stop() -> dict[str, list[str]]:
        stopped = await unit.jobs.stop(
            job_name=body.job_name,
            experiment=body.experiment,
            job_source=body.job_source,
            job_id=body.job_id,
        )
        return {"stopped": stopped}

    return await unit.tasks.submit("stop jobs", stop)


@router.post(
    "/jobs/stop/all", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
@router.patch(
    "/jobs/stop/all", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
async def stop_all_jobs(unit: UnitDep) -> TaskAccepted:
    """Stop every job except long-running ones (such as monitor)."""

    async def stop() -> dict[str, list[str]]:
        return {"stopped": await unit.jobs.stop_all()}

    return await unit.tasks.submit("stop all jobs", stop)


@router.get("/jobs/running", response_model=list[RunningJob], responses=error_responses())
async def get_all_running_jobs(unit: UnitDep) -> list[RunningJob]:
    return [RunningJob(**row) for row in await unit.registry.running()]


@router.get(
    "/jobs/settings/job_name/{job_name}",
    response_model=JobSettings,
    responses=error_responses(404),
)
async def get_job_settings(job_name: JobNamePath, unit: UnitDep) -> JobSettings:
    """The published settings of the running job (values as published, text)."""
    settings = await unit.registry.settings_of_running(_check_job_name(job_name))
    if settings is None:
        raise ApiError(
            404,
            "No settings found for job.",
            cause=f"{job_name} is not running on {unit.name}.",
            remediation="GET /unit_api/jobs/running lists the running jobs.",
        )
    return JobSettings(settings=settings)


@router.get(
    "/jobs/settings/job_name/{job_name}/setting/{setting}",
    response_model=dict[str, str | None],
    responses=error_responses(404),
)
async def get_job_setting(
    job_name: JobNamePath, setting: Annotated[str, Path(max_length=64)], unit: UnitDep
) -> dict[str, str | None]:
    settings = await unit.registry.settings_of_running(_check_job_name(job_name))
    if settings is None or setting not in settings:
        raise ApiError(
            404,
            "Setting not found.",
            cause=f"{job_name} on {unit.name} has no published setting {setting!r}"
            + (" (it is not running)." if settings is None else "."),
            remediation=f"GET /unit_api/jobs/settings/job_name/{job_name} lists its settings.",
        )
    return {setting: settings[setting]}


@router.get("/capabilities", response_model=list[Capability], responses=error_responses())
async def get_capabilities(unit: UnitDep) -> list[Capability]:
    """Every job this unit can run, with its options and published settings."""
    return [
        Capability(**entry)
        for _, job in sorted(unit.jobs.catalog.items())
        for entry in describe(job)
    ]


@router.get("/versions/app", response_model=Version, responses=error_responses())
async def get_app_version(unit: UnitDep) -> Version:
    return Version(version=unit.version)


@router.get(
    "/bioreactor/experiments/{experiment}",
    response_model=BioreactorState,
    responses=error_responses(),
)
async def get_bioreactor_values(experiment: str, unit: UnitDep) -> BioreactorState:
    config = await asyncio.to_thread(unit.config_files.merged)
    return BioreactorState(values=await unit.bioreactor.values(experiment, config))


@router.patch(
    "/bioreactor/experiments/{experiment}",
    response_model=dict[str, str],
    responses=error_responses(503),
)
async def update_bioreactor_values(
    experiment: str, body: BioreactorValues, unit: UnitDep
) -> dict[str, str]:
    """Change bioreactor variables; each is checked, stored, and published retained."""
    topics.segment(experiment, "experiment")
    capacity = unit.model.reactor_capacity_ml if unit.model else None
    for variable, value in body.values.items():
        problem = check_value(variable, value, capacity)
        if problem:
            raise ApiError(
                400,
                "Invalid bioreactor value.",
                cause=f"values.{variable}: {problem}.",
                remediation="Send values within their bounds.",
            )
    await unit.bioreactor.update(experiment, body.values, unit.clock.now())
    for variable, value in body.values.items():
        # Stored already; the retained topic is a convenience for live views.
        with contextlib.suppress(BusUnavailable):
            await unit.bus.publish(
                f"pioreactor/{unit.name}/{experiment}/bioreactor/{variable}",
                str(value),
                qos=1,
                retain=True,
            )
    return {"status": "success"}


async def _power(unit: UnitServices, action: str) -> TaskAccepted:
    async def acknowledge() -> dict[str, Any]:
        # Answer first; the jobs stop and the process goes once the result is stored.
        unit.tasks.spawn(action, unit.after(0.5, action))
        return {"ok": True, "action": action}

    return await unit.tasks.submit(action, acknowledge, lock="power-lock")


@router.post(
    "/system/reboot", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
@router.patch(
    "/system/reboot", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
async def reboot_system(unit: UnitDep) -> TaskAccepted:
    """Reboot this unit: its jobs stop and its process starts afresh (a task)."""
    return await _power(unit, "reboot")


@router.post(
    "/system/shutdown", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
@router.patch(
    "/system/shutdown", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
async def shutdown_system(unit: UnitDep) -> TaskAccepted:
    """Shut this unit down: its jobs stop and its process ends (a task)."""
    return await _power(unit, "shutdown")


@router.post(
    "/system/repair", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
@router.patch(
    "/system/repair", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
async def repair_system(unit: UnitDep) -> TaskAccepted:
    """Check this unit's state: its databases, running jobs and data directory."""

    async def repair() -> dict[str, Any]:
        running = await unit.registry.running()
        return {
            "ok": True,
            "unit": unit.name,
            "data_dir_writable": await asyncio.to_thread(
                os.access, unit.config_files.data_dir, os.W_OK
            ),
            "running_jobs": [row["job_name"] for row in running],
        }

    return await unit.tasks.submit("repair", repair, lock="repair-system-lock")


@router.get("/system/utc_clock", response_model=ClockTime, responses=error_responses())
async def get_clock_time(unit: UnitDep) -> ClockTime:
    return ClockTime(clock_time=format_timestamp(unit.clock.now()))


@router.post(
    "/system/utc_clock", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
@router.patch(
    "/system/utc_clock", status_code=202, response_model=TaskAccepted, responses=error_responses()
)
async def set_clock_time(body: SetClock, unit: UnitDep) -> TaskAccepted:
    """Simulated units run on the machine's clock: the request is checked and answered with
    the clock's time and how far the asked time was from it; nothing is changed."""
    try:
        wanted = parse_timestamp(body.utc_clock_time)
    except ValueError as exc:
        raise ApiError(
            400,
            "Invalid time.",
            cause=f"utc_clock_time {body.utc_clock_time!r}: {exc}.",
            remediation="Send an ISO-8601 time with a time zone, e.g. 2026-01-01T00:00:00Z.",
        ) from exc

    async def report() -> dict[str, Any]:
        now = unit.clock.now()
        return {
            "ok": True,
            "changed": False,
            "clock_time": format_timestamp(now),
            "offset_seconds": round((wanted - now).total_seconds(), 3),
        }

    return await unit.tasks.submit("utc clock", report, lock="clock-lock")


def unit_api_router() -> APIRouter:
    """The whole unit API: the routes above and those of configuration, plugins, USB,
    archives, calibrations and system reports."""
    whole = APIRouter()
    whole.include_router(router)
    whole.include_router(config.router)
    whole.include_router(plugins_router.router)
    whole.include_router(usb_router.router)
    whole.include_router(archive_router.router)
    whole.include_router(update_router.router)
    # Sessions before calibrations: /calibrations/sessions would otherwise be taken for a device.
    whole.include_router(calibration_sessions.router)
    whole.include_router(calibrations.router)
    whole.include_router(estimators.router)
    whole.include_router(system_router.router)
    return whole
