"""Endpoint for ``GET /unit_api/ingester``: the MQTT ingester's health, read-only.

The ingester is its own process; it rewrites one row of ``ingester_status`` with every batch
and every few seconds while idle, so the leader reads that row rather than talk to it. Not part
of the shared unit router because workers have no ingester.
"""

from __future__ import annotations

from fastapi import APIRouter

from pioleader.api.ingester.models import IngesterStatus
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.ingester import load_status

router = APIRouter(prefix="/unit_api/ingester", tags=["unit api"])


@router.get("", response_model=IngesterStatus, responses=error_responses(404))
async def get_ingester_status(services: ServicesDep) -> IngesterStatus:
    """The ingester's counters; 404 until it has reported once."""
    status = await services.db.read(load_status)
    if status is None:
        raise ApiError(
            404,
            "The ingester has not reported yet.",
            cause="No row in ingester_status: `pioleader ingester` has not run on this database.",
            remediation="Start it (`pioleader up` does) and retry in a few seconds.",
        )
    return IngesterStatus.model_validate(status.as_json())
