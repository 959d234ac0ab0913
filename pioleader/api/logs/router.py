"""Endpoints for logs.

GET /api/logs, GET /api/experiments/{experiment}/logs, /recent_logs,
GET /api/workers/{pioreactor_unit}/experiments/{experiment}/logs, /recent_logs,
GET /api/units/{pioreactor_unit}/logs, /system_logs,
POST /api/units/{pioreactor_unit}/experiments/{experiment}/logs and its /api/workers twin.

Reads are newest first, filtered by ``min_level``; pages are 100 rows, offset by ``skip``.
Writing goes over MQTT like any job's log, so the ingester is the only writer of the table.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from pioleader.api.logs.models import LEVELS, LogAccepted, LogCreate, LogEntry, levels_at_least
from pioleader.api.logs.service import publish_log
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses

router = APIRouter(tags=["logs"])

ExperimentPath = Annotated[
    str, Path(description="Experiment name, or `$experiment` for system logs.")
]
UnitPath = Annotated[str, Path(description="Unit name.")]
Skip = Annotated[int, Query(ge=0, description="Rows to skip, for paging (pages of 100).")]


async def min_levels(  # async: FastAPI would run a plain def in its thread pool
    min_level: Annotated[
        str, Query(description=f"Least severe level shown: one of {', '.join(LEVELS)}.")
    ] = "INFO",
) -> tuple[str, ...]:
    """The levels shown; upstream silently falls back to INFO on an unknown level, we say so."""
    try:
        return levels_at_least(min_level)
    except ValueError as exc:
        raise ApiError(
            400,
            "Invalid min_level.",
            cause=f"min_level {min_level!r} is not a log level.",
            remediation=f"Use one of {', '.join(LEVELS)} (any case).",
        ) from exc


Levels = Annotated[tuple[str, ...], Depends(min_levels)]


@router.get("/api/logs", response_model=list[LogEntry], responses=error_responses())
async def get_logs(services: ServicesDep, levels: Levels, skip: Skip = 0) -> list[LogEntry]:
    """Every unit's logs, of every experiment."""
    return await services.logs.everything(levels, skip)


@router.get(
    "/api/experiments/{experiment}/logs", response_model=list[LogEntry], responses=error_responses()
)
async def get_exp_logs(
    experiment: ExperimentPath, services: ServicesDep, levels: Levels, skip: Skip = 0
) -> list[LogEntry]:
    """The experiment's logs, from every unit."""
    return await services.logs.of_experiment(experiment, levels, skip)


@router.get(
    "/api/experiments/{experiment}/recent_logs",
    response_model=list[LogEntry],
    responses=error_responses(),
)
async def get_recent_logs(
    experiment: ExperimentPath, services: ServicesDep, levels: Levels, now: NowDep
) -> list[LogEntry]:
    """The experiment's 50 newest logs of the last 24 hours (not before its creation)."""
    return await services.logs.recent(experiment, levels, now)


@router.get(
    "/api/workers/{pioreactor_unit}/experiments/{experiment}/logs",
    response_model=list[LogEntry],
    responses=error_responses(),
)
async def get_logs_for_unit_and_experiment(
    pioreactor_unit: UnitPath,
    experiment: ExperimentPath,
    services: ServicesDep,
    levels: Levels,
    now: NowDep,
    skip: Skip = 0,
) -> list[LogEntry]:
    """The experiment's logs from the unit (and broadcast ones) while it was assigned to it
    (up to 5 seconds after it left)."""
    return await services.logs.of_unit_in_experiment(pioreactor_unit, experiment, levels, skip, now)


@router.get(
    "/api/workers/{pioreactor_unit}/experiments/{experiment}/recent_logs",
    response_model=list[LogEntry],
    responses=error_responses(),
)
async def get_recent_logs_for_unit_and_experiment(
    pioreactor_unit: UnitPath,
    experiment: ExperimentPath,
    services: ServicesDep,
    levels: Levels,
    now: NowDep,
) -> list[LogEntry]:
    """The unit's 50 newest logs of the last 24 hours, of the experiment and of the system."""
    return await services.logs.recent_of_unit(pioreactor_unit, experiment, levels, now)


@router.get(
    "/api/units/{pioreactor_unit}/logs", response_model=list[LogEntry], responses=error_responses()
)
async def get_logs_for_unit(
    pioreactor_unit: UnitPath, services: ServicesDep, levels: Levels, skip: Skip = 0
) -> list[LogEntry]:
    """The unit's logs (and broadcast ones), of every experiment."""
    return await services.logs.of_unit(pioreactor_unit, levels, skip)


@router.get(
    "/api/units/{pioreactor_unit}/system_logs",
    response_model=list[LogEntry],
    responses=error_responses(),
)
async def get_system_logs_for_unit(
    pioreactor_unit: UnitPath, services: ServicesDep, levels: Levels, skip: Skip = 0
) -> list[LogEntry]:
    """The unit's logs outside any experiment (experiment `$experiment`)."""
    return await services.logs.system_of_unit(pioreactor_unit, levels, skip)


POST_LOG = "/{pioreactor_unit}/experiments/{experiment}/logs"


@router.post(
    "/api/units" + POST_LOG,
    status_code=202,
    response_model=LogAccepted,
    responses=error_responses(503),
)
@router.post(
    "/api/workers" + POST_LOG,
    status_code=202,
    response_model=LogAccepted,
    responses=error_responses(503),
)
async def publish_new_log(
    pioreactor_unit: Annotated[
        str, Path(description="Registered unit, or `$broadcast` for the experiment's workers.")
    ],
    experiment: ExperimentPath,
    body: LogCreate,
    services: ServicesDep,
) -> LogAccepted:
    """Publish a log entry over MQTT (QoS 2); the ingester stores it."""
    await publish_log(services, pioreactor_unit, experiment, body)
    return LogAccepted()
