"""Endpoints for the worker inventory.

GET/PUT /api/workers, GET/DELETE /api/workers/{pioreactor_unit},
PUT /api/workers/{pioreactor_unit}/is_active, GET/PUT /api/workers/{pioreactor_unit}/model,
GET /api/workers/{pioreactor_unit}/experiment, GET /api/workers/{pioreactor_unit}/task_results/
{task_id} (a worker's task, polled through the leader).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pioleader.api.assignments.service import publish_assignment
from pioleader.api.dispatch import STOP_ALL_JOBS, cache_for, fire_and_forget, unit_failure
from pioleader.api.workers.models import (
    Status,
    Worker,
    WorkerActive,
    WorkerAdd,
    WorkerExperiment,
    WorkerListed,
    WorkerModel,
    WorkerModelChange,
)
from pioleader.api.workers.store import WorkerNotFound
from pioleader.cluster import UnitRequest
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses, not_found
from pioleader.services import Services
from pioleader.tasks import STILL_RUNNING, TaskStatus

router = APIRouter(tags=["workers"])

UnitPath = Annotated[str, Path(description="Worker name.")]


def worker_not_found(unit: str) -> ApiError:
    # Workers parse "Worker X not found." (whoami); keep the wording in `error`.
    return ApiError(
        404,
        f"Worker {unit} not found.",
        cause=f"{unit!r} is not in the worker inventory.",
        remediation="Register it with PUT /api/workers; GET /api/workers lists the workers.",
    )


async def require_model(services: Services, name: str, version: str) -> None:
    if await services.models.find(name, version) is None:
        known = ", ".join(f"{m.model_name} {m.model_version}" for m in await services.models.all())
        raise ApiError(
            400,
            "Unknown Pioreactor model.",
            cause=f"model_name {name!r} with model_version {version!r} is not a known model.",
            remediation=f"Use one of: {known} (GET /api/models).",
        )


@router.get("/api/workers", response_model=list[WorkerListed], responses=error_responses())
async def get_list_of_workers(services: ServicesDep) -> list[WorkerListed]:
    """Every registered worker, by name, with its configured IPv4 address."""
    addresses = await services.directory.ipv4_addresses()
    return [
        WorkerListed(**worker.model_dump(), ipv4_address=addresses.get(worker.pioreactor_unit))
        for worker in await services.workers.list_all()
    ]


@router.put(
    "/api/workers",
    status_code=201,
    response_model=Status,
    responses={200: {"model": Status, "description": "Already registered."}, **error_responses()},
)
async def add_worker(
    body: WorkerAdd, services: ServicesDep, now: NowDep, response: Response
) -> Status:
    """Register a worker: 201 when new, 200 when it was registered already.

    A retry keeps the worker's added_at, is_active and experiment assignment.
    """
    if body.model_name is not None and body.model_version is not None:
        await require_model(services, body.model_name, body.model_version)
    created = await services.workers.add(
        body.pioreactor_unit, body.model_name, body.model_version, now
    )
    if created:
        services.audit.log(f"Added worker {body.pioreactor_unit}")
    else:
        response.status_code = 200
    return Status()


@router.get("/api/workers/{pioreactor_unit}", response_model=Worker, responses=error_responses(404))
async def get_worker(pioreactor_unit: UnitPath, services: ServicesDep) -> Worker:
    worker = await services.workers.get(pioreactor_unit)
    if worker is None:
        raise worker_not_found(pioreactor_unit)
    return worker


@router.delete(
    "/api/workers/{pioreactor_unit}",
    status_code=202,
    response_model=Status,
    responses=error_responses(404),
)
async def delete_worker(pioreactor_unit: UnitPath, services: ServicesDep, now: NowDep) -> Status:
    """Remove a worker from the inventory (its assignment and config history go too) and ask
    it to stop all its jobs."""
    try:
        experiment = await services.workers.delete(pioreactor_unit)
    except WorkerNotFound as exc:
        raise worker_not_found(pioreactor_unit) from exc
    fire_and_forget(services, "stop jobs of removed worker", [pioreactor_unit], STOP_ALL_JOBS)
    if experiment is not None:
        await publish_assignment(services, pioreactor_unit, None, None, now)
    services.audit.log(f"Removed worker {pioreactor_unit} from the inventory")
    return Status()


@router.put(
    "/api/workers/{pioreactor_unit}/is_active",
    response_model=Status,
    responses=error_responses(),
)
async def change_worker_status(
    pioreactor_unit: UnitPath, body: WorkerActive, services: ServicesDep
) -> Status:
    """Activate (1) or deactivate (0) a worker; deactivating stops all its jobs."""
    unit = await services.targets.require_worker(pioreactor_unit)
    await services.workers.set_active(unit, body.is_active)
    if body.is_active == 0:
        fire_and_forget(services, "stop jobs of deactivated worker", [unit], STOP_ALL_JOBS)
    services.audit.log(f"Set {unit} to {'active' if body.is_active else 'inactive'}")
    return Status()


@router.get(
    "/api/workers/{pioreactor_unit}/model",
    response_model=WorkerModel,
    responses=error_responses(404),
)
async def get_worker_model_and_metadata(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> WorkerModel:
    """The worker's model with its capacities and temperature limits."""
    worker = await services.workers.get(pioreactor_unit)
    if worker is None:
        raise worker_not_found(pioreactor_unit)
    if worker.model_name is None or worker.model_version is None:
        raise ApiError(
            404,
            "Model not set",
            cause=f"{pioreactor_unit} has no model recorded.",
            remediation=f"Set it with PUT /api/workers/{pioreactor_unit}/model.",
        )
    model = await services.models.find(worker.model_name, worker.model_version)
    if model is None:
        raise not_found(
            "Model",
            f"{worker.model_name} {worker.model_version}",
            f"Set a known model with PUT /api/workers/{pioreactor_unit}/model (GET /api/models).",
        )
    return WorkerModel(pioreactor_unit=pioreactor_unit, **model.model_dump())


@router.put(
    "/api/workers/{pioreactor_unit}/model", response_model=Status, responses=error_responses()
)
async def change_worker_model(
    pioreactor_unit: UnitPath, body: WorkerModelChange, services: ServicesDep
) -> Status:
    """Record the worker's model; the worker is asked to check its hardware against it."""
    unit = await services.targets.require_worker(pioreactor_unit)
    await require_model(services, body.model_name, body.model_version)
    await services.workers.set_model(unit, body.model_name, body.model_version)
    fire_and_forget(
        services, "hardware check", [unit], UnitRequest("POST", "/unit_api/hardware/check", json={})
    )
    services.audit.log(f"Set model of {unit} to {body.model_name} {body.model_version}")
    return Status()


@router.get(
    "/api/workers/{pioreactor_unit}/experiment",
    response_model=WorkerExperiment,
    responses=error_responses(404),
)
async def get_experiment_assignment_for_worker(
    pioreactor_unit: UnitPath, services: ServicesDep, response: Response
) -> WorkerExperiment:
    """The experiment the worker is in. Workers ask this before starting a job."""
    cache_for(response, 0)
    worker = await services.workers.get(pioreactor_unit)
    if worker is None:
        raise worker_not_found(pioreactor_unit)
    experiment = await services.assignments.experiment_of(pioreactor_unit)
    if experiment is None:
        raise ApiError(
            404,
            f"Worker `{pioreactor_unit}` is not assigned to any experiment.",
            cause=f"{pioreactor_unit} has no current experiment.",
            remediation="Assign it with PUT /api/experiments/{experiment}/workers.",
        )
    return WorkerExperiment(
        pioreactor_unit=pioreactor_unit,
        is_active=worker.is_active,
        experiment=experiment,
        model_name=worker.model_name,
        model_version=worker.model_version,
    )


@router.get(
    "/api/workers/{pioreactor_unit}/task_results/{task_id}",
    response_model=TaskStatus,
    response_model_exclude_none=True,
    responses={**STILL_RUNNING, **error_responses(404, 502)},
)
async def get_task_result_for_worker(
    pioreactor_unit: UnitPath,
    task_id: Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")],
    services: ServicesDep,
    response: Response,
) -> TaskStatus:
    """A task of a worker, asked of the worker once: 202 while it runs, 200 when it ended.

    Its ``result_url_path`` points back here, so a browser that can reach only the leader
    polls through it."""
    cache_for(response, 0)
    worker = await services.targets.require_worker(pioreactor_unit)
    envelope = (
        await services.units.call(
            worker, UnitRequest("GET", f"/unit_api/task_results/{task_id}", follow_tasks=False)
        )
    ).as_json()
    if not envelope["ok"]:
        raise unit_failure(worker, envelope)
    try:
        status = TaskStatus.model_validate(envelope["value"])
    except ValueError as error:
        raise ApiError(
            502,
            f"{worker} answered an invalid task status.",
            cause=f"{worker}: {error}",
            remediation=f"Check that {worker} runs a compatible unit API.",
        ) from error
    if status.status in ("pending", "running"):
        response.status_code = 202
    return status.model_copy(
        update={"result_url_path": f"/api/workers/{worker}/task_results/{status.task_id}"}
    )
