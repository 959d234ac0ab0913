"""Endpoints for experiment assignments.

GET/PUT/DELETE /api/experiments/{experiment}/workers,
DELETE /api/experiments/{experiment}/workers/{pioreactor_unit},
GET /api/experiments/{experiment}/historical_worker_assignments,
GET/DELETE /api/workers/assignments.

Every change publishes the retained ``pioreactor/<unit>/$experiment/assignment`` message, and
asks the units concerned to stop the jobs of the experiment they left.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pioleader.api.assignments.models import (
    AssignWorker,
    ExperimentWorker,
    HistoricalAssignment,
    WorkerAssignment,
)
from pioleader.api.assignments.service import publish_assignment, publish_unassigned
from pioleader.api.assignments.store import NotAssigned
from pioleader.api.dispatch import (
    STOP_ALL_JOBS,
    cache_for,
    fanout_task,
    fire_and_forget,
    stop_jobs_of_experiment,
)
from pioleader.api.experiments.router import experiment_not_found
from pioleader.api.experiments.store import ExperimentNotFound
from pioleader.api.workers.models import Status
from pioleader.api.workers.store import WorkerNotFound
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.tasks import TaskAccepted

router = APIRouter(tags=["assignments"])

ExperimentPath = Annotated[str, Path(description="Experiment name.")]
UnitPath = Annotated[str, Path(description="Worker name.")]


@router.get(
    "/api/workers/assignments", response_model=list[WorkerAssignment], responses=error_responses()
)
async def get_workers_and_experiment_assignments(
    services: ServicesDep, response: Response
) -> list[WorkerAssignment]:
    """Every worker with the experiment it is in (null when none)."""
    cache_for(response, 2)
    return await services.assignments.all_workers()


@router.delete(
    "/api/workers/assignments",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(503),
)
async def remove_all_workers_from_all_experiments(
    services: ServicesDep, now: NowDep
) -> TaskAccepted:
    """Unassign every worker, then ask every worker to stop all its jobs (a fan-out task)."""
    unassigned = await services.assignments.unassign_everyone()
    await publish_unassigned(services, unassigned, now)
    services.audit.log("Removed all workers from all experiments")
    return await fanout_task(
        services, "stop all jobs on all workers", await services.targets.workers(), STOP_ALL_JOBS
    )


@router.get(
    "/api/experiments/{experiment}/workers",
    response_model=list[ExperimentWorker],
    responses=error_responses(404),
)
async def get_list_of_workers_for_experiment(
    experiment: ExperimentPath, services: ServicesDep, response: Response
) -> list[ExperimentWorker]:
    """The workers assigned to the experiment, by name."""
    if not await services.experiments.exists(experiment):
        raise experiment_not_found(experiment)
    cache_for(response, 2)
    return await services.assignments.workers_in(experiment)


@router.put(
    "/api/experiments/{experiment}/workers",
    response_model=Status,
    responses=error_responses(404, 503),
)
async def add_worker_to_experiment(
    experiment: ExperimentPath, body: AssignWorker, services: ServicesDep, now: NowDep
) -> Status:
    """Assign a worker to the experiment, moving it out of any other (whose jobs it stops).

    Assigning it again to the experiment it is in changes nothing.
    """
    unit = await services.targets.require_worker(body.pioreactor_unit)
    try:
        outcome = await services.assignments.assign(unit, experiment, now)
    except ExperimentNotFound as exc:
        raise experiment_not_found(experiment) from exc
    except WorkerNotFound as exc:  # removed between the check and the write
        raise ApiError(
            400, f"Unknown Pioreactor worker: {unit}", remediation="Register the worker first."
        ) from exc
    if outcome.changed:
        await publish_assignment(services, unit, experiment, outcome.assignment.assigned_at, now)
        if outcome.previous_experiment is not None:
            fire_and_forget(
                services,
                "stop jobs of previous experiment",
                [unit],
                stop_jobs_of_experiment(outcome.previous_experiment),
            )
        services.audit.log(f"Assigned {unit} to {experiment}")
    return Status()


@router.delete(
    "/api/experiments/{experiment}/workers",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404, 503),
)
async def remove_workers_from_experiment(
    experiment: ExperimentPath, services: ServicesDep, now: NowDep
) -> TaskAccepted:
    """Unassign every worker from the experiment and stop its jobs on all workers (a task)."""
    if not await services.experiments.exists(experiment):
        raise experiment_not_found(experiment)
    unassigned = await services.assignments.unassign_experiment(experiment)
    await publish_unassigned(services, unassigned, now)
    services.audit.log(f"Removed all workers from {experiment}")
    return await fanout_task(
        services,
        "stop jobs of experiment on all workers",
        await services.targets.workers(),
        stop_jobs_of_experiment(experiment),
    )


@router.delete(
    "/api/experiments/{experiment}/workers/{pioreactor_unit}",
    response_model=Status,
    responses=error_responses(404, 503),
)
async def remove_worker_from_experiment(
    experiment: ExperimentPath, pioreactor_unit: UnitPath, services: ServicesDep, now: NowDep
) -> Status:
    """Unassign one worker from the experiment and stop the experiment's jobs on it."""
    unit = await services.targets.require_worker(pioreactor_unit)
    try:
        await services.assignments.unassign(unit, experiment)
    except NotAssigned as exc:
        raise ApiError(
            404,
            "Worker not assigned to experiment",
            cause=f"{unit} is not assigned to {experiment!r}.",
            remediation="GET /api/workers/assignments shows where each worker is.",
        ) from exc
    await publish_assignment(services, unit, None, None, now)
    fire_and_forget(
        services, "stop jobs of left experiment", [unit], stop_jobs_of_experiment(experiment)
    )
    services.audit.log(f"Removed {unit} from {experiment}")
    return Status()


@router.get(
    "/api/experiments/{experiment}/historical_worker_assignments",
    response_model=list[HistoricalAssignment],
    responses=error_responses(),
)
async def get_list_of_historical_workers_for_experiment(
    experiment: ExperimentPath, services: ServicesDep
) -> list[HistoricalAssignment]:
    """Every worker that was ever in the experiment, and whether it still is."""
    return await services.assignments.history(experiment)
