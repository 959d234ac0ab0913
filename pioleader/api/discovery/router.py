"""Endpoints for finding and adding workers: GET /api/workers/discover,
POST /api/workers/setup."""

from __future__ import annotations

from fastapi import APIRouter

from pioleader.api.discovery.models import DiscoveredWorker, WorkerAdded, WorkerSetup
from pioleader.api.discovery.service import add_worker
from pioleader.api.workers.router import require_model
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses

router = APIRouter(tags=["workers"])


@router.get(
    "/api/workers/discover", response_model=list[DiscoveredWorker], responses=error_responses()
)
async def discover_available_workers(services: ServicesDep) -> list[DiscoveredWorker]:
    """Workers announcing themselves over mDNS that are not in the inventory (nor the leader).

    Listening takes about 1.5 s after the last new answer.
    """
    known = {services.settings.leader_hostname, *await services.workers.names()}
    return [
        DiscoveredWorker(**vars(worker))
        for worker in await services.discovery.browse()
        if worker.pioreactor_unit not in known
    ]


@router.post("/api/workers/setup", response_model=WorkerAdded, responses=error_responses(404, 409))
async def setup_worker_pioreactor(
    body: WorkerSetup, services: ServicesDep, now: NowDep
) -> WorkerAdded:
    """Add a worker: one that announces itself, one at `ipv4_address`, or (when the leader
    may start simulated workers) a new simulated worker; then register it.

    404 "Failed to add worker" with the reason when it cannot be found, started or reached;
    409 if it is already in the inventory; 400 for a bad name, model or address.
    """
    await require_model(services, body.model, body.version)
    if await services.workers.get(body.name) is not None:
        raise ApiError(
            409,
            f"Worker {body.name} is already in the inventory.",
            cause=f"{body.name!r} is registered already.",
            remediation="Remove it first (DELETE /api/workers/{name}) or choose another name.",
        )
    await add_worker(services, body, now)
    return WorkerAdded(msg=f"Worker {body.name} added successfully.")
