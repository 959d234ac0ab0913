"""The leader's own unit API: GET /unit_api/health and GET /unit_api/task_results/{task_id}.

Every 202 answer of ``/api`` points at the leader's ``/unit_api/task_results/<id>``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from pioleader.clock import format_timestamp
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.tasks import TaskStatus

router = APIRouter(tags=["unit api"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    pioreactor_unit: str
    utc_time: str


@router.get("/unit_api/health", response_model=Health, responses=error_responses())
async def health_check(services: ServicesDep, now: NowDep) -> Health:
    return Health(pioreactor_unit=services.settings.leader_hostname, utc_time=format_timestamp(now))


@router.get(
    "/unit_api/task_results/{task_id}",
    response_model=TaskStatus,
    response_model_exclude_none=True,
    responses={
        202: {"model": TaskStatus, "description": "Still pending or running; poll again."},
        **error_responses(404),
    },
)
async def get_task_status(
    task_id: Annotated[str, Path(max_length=100)],
    services: ServicesDep,
    now: NowDep,
    response: Response,
) -> TaskStatus:
    """A task's state: 202 while pending or running, 200 once succeeded or failed."""
    status = await services.tasks.status(task_id, now)
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
