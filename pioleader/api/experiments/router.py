"""Endpoints for ``/api/experiments`` and ``/api/historical_*``.

GET/POST /api/experiments, GET /api/experiments/latest, /active, /assignment_count,
GET/PATCH/DELETE /api/experiments/{experiment}, GET /api/historical_media,
GET /api/historical_organisms.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pioleader.api.assignments.service import publish_unassigned
from pioleader.api.dispatch import cache_for, fire_and_forget, stop_jobs_of_experiment
from pioleader.api.experiments.models import (
    Experiment,
    ExperimentCount,
    ExperimentCreate,
    ExperimentDeleted,
    ExperimentUpdate,
    HistoricalValue,
)
from pioleader.api.experiments.store import ExperimentExists, ExperimentNotFound
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses, not_found
from pioleader.tasks import TaskAccepted

router = APIRouter(tags=["experiments"])

ExperimentPath = Annotated[str, Path(description="Experiment name.")]


def experiment_not_found(experiment: str) -> ApiError:
    return not_found(
        "Experiment", experiment, "GET /api/experiments lists the experiments; check the spelling."
    )


@router.get("/api/experiments", response_model=list[Experiment], responses=error_responses())
async def get_experiments(
    services: ServicesDep, now: NowDep, response: Response
) -> list[Experiment]:
    """Every experiment, newest first."""
    cache_for(response, 5)
    return await services.experiments.list_all(now)


@router.post(
    "/api/experiments", status_code=201, response_model=Experiment, responses=error_responses(409)
)
async def create_experiment(
    body: ExperimentCreate, services: ServicesDep, now: NowDep
) -> Experiment:
    """Create an experiment (and its tags, in the same transaction)."""
    try:
        created = await services.experiments.create(body, now)
    except ExperimentExists as exc:
        raise ApiError(
            409,
            "Experiment already exists",
            cause=f"An experiment named {body.experiment!r} already exists.",
            remediation="Choose a different name, or use the existing experiment.",
        ) from exc
    services.audit.log(f"New experiment created: {body.experiment}")
    return created


@router.get(
    "/api/experiments/latest", response_model=Experiment | None, responses=error_responses()
)
async def get_latest_experiment(
    services: ServicesDep, now: NowDep, response: Response
) -> Experiment | None:
    """The most recently created experiment, or null when there is none."""
    cache_for(response, 2)
    return await services.experiments.latest(now)


@router.get("/api/experiments/active", response_model=list[Experiment], responses=error_responses())
async def get_active_experiments(
    services: ServicesDep, now: NowDep, response: Response
) -> list[Experiment]:
    """Experiments with at least one active worker assigned."""
    cache_for(response, 2)
    return await services.experiments.active(now)


@router.get(
    "/api/experiments/assignment_count",
    response_model=list[ExperimentCount],
    responses=error_responses(),
)
async def get_experiments_worker_assignments(
    services: ServicesDep, response: Response
) -> list[ExperimentCount]:
    """How many workers each experiment has (experiments with none are left out)."""
    cache_for(response, 3)
    return await services.experiments.assignment_counts()


@router.get(
    "/api/experiments/{experiment}", response_model=Experiment, responses=error_responses(404)
)
async def get_experiment(
    experiment: ExperimentPath, services: ServicesDep, now: NowDep
) -> Experiment:
    try:
        return await services.experiments.get(experiment, now)
    except ExperimentNotFound as exc:
        raise experiment_not_found(experiment) from exc


@router.patch(
    "/api/experiments/{experiment}", response_model=Experiment, responses=error_responses(404)
)
async def update_experiment(
    experiment: ExperimentPath, body: ExperimentUpdate, services: ServicesDep, now: NowDep
) -> Experiment:
    """Change the description and/or replace the tags."""
    try:
        return await services.experiments.update(
            experiment, description=body.description, tags=body.tags, now=now
        )
    except ExperimentNotFound as exc:
        raise experiment_not_found(experiment) from exc


@router.delete(
    "/api/experiments/{experiment}",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
async def delete_experiment(experiment: ExperimentPath, services: ServicesDep) -> TaskAccepted:
    """Stop the experiment's jobs on every unit, then delete it and all its data (a task);
    its workers are unassigned, with the retained assignment message of each.

    The task's result is ``{result, experiment, database_space, msg}``.
    """
    if not await services.experiments.exists(experiment):
        raise experiment_not_found(experiment)
    fire_and_forget(
        services,
        "stop jobs of deleted experiment",
        await services.targets.units(),
        stop_jobs_of_experiment(experiment),
    )

    async def delete() -> ExperimentDeleted:
        try:
            deletion = await services.experiments.delete(experiment)
        except ExperimentNotFound as exc:
            raise experiment_not_found(experiment) from exc
        # The cascade unassigned these workers; tell them, as every other unassignment does.
        await publish_unassigned(services, deletion.unassigned, services.clock.now())
        services.audit.log(f"Deleted experiment {experiment}")
        return ExperimentDeleted(experiment=experiment, database_space=deletion.database_space)

    return await services.tasks.submit("delete experiment", delete, lock="delete-experiment-lock")


@router.get(
    "/api/historical_media", response_model=list[HistoricalValue], responses=error_responses()
)
async def get_historical_media_used(services: ServicesDep) -> list[HistoricalValue]:
    """Media named at experiment creation (``mediaUsed``), most recent first."""
    return await services.experiments.historical("media_used")


@router.get(
    "/api/historical_organisms", response_model=list[HistoricalValue], responses=error_responses()
)
async def get_historical_organisms_used(services: ServicesDep) -> list[HistoricalValue]:
    """Organisms named at experiment creation (``organismUsed``), most recent first."""
    return await services.experiments.historical("organism_used")
