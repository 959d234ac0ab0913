"""Endpoints for ``/api/experiments/{experiment}/unit_labels`` (GET, PUT, PATCH).

The experiment ``current`` means the latest experiment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pioleader.api.dispatch import cache_for
from pioleader.api.experiments.router import experiment_not_found
from pioleader.api.experiments.store import ExperimentNotFound
from pioleader.api.labels.models import LabelUpsert
from pioleader.api.labels.store import LabelTaken
from pioleader.api.workers.models import Status
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services

router = APIRouter(tags=["experiments"])

ExperimentOrCurrent = Annotated[
    str, Path(description="Experiment name, or 'current' for the latest experiment.")
]


async def _resolve(services: Services, experiment: str) -> str:
    if experiment != "current":
        return experiment
    latest = await services.experiments.latest_name()
    if latest is None:
        raise ApiError(
            404,
            "No experiments yet",
            cause="'current' means the latest experiment, and there is none.",
            remediation="Create an experiment with POST /api/experiments.",
        )
    return latest


@router.get(
    "/api/experiments/{experiment}/unit_labels",
    response_model=dict[str, str],
    responses=error_responses(404),
)
async def get_unit_labels(
    experiment: ExperimentOrCurrent, services: ServicesDep, response: Response
) -> dict[str, str]:
    """``{unit: label}`` for the experiment."""
    cache_for(response, 10)
    return await services.labels.labels(await _resolve(services, experiment))


@router.put(
    "/api/experiments/{experiment}/unit_labels",
    status_code=201,
    response_model=Status,
    responses=error_responses(404, 409),
)
@router.patch(
    "/api/experiments/{experiment}/unit_labels",
    status_code=201,
    response_model=Status,
    responses=error_responses(404, 409),
)
async def upsert_unit_labels(
    experiment: ExperimentOrCurrent, body: LabelUpsert, services: ServicesDep, now: NowDep
) -> Status:
    """Set a unit's label in the experiment; an empty label removes it."""
    name = await _resolve(services, experiment)
    await services.targets.require_unit(body.unit)
    try:
        await services.labels.set_label(name, body.unit, body.label.strip(), now)
    except ExperimentNotFound as exc:
        raise experiment_not_found(name) from exc
    except LabelTaken as exc:
        raise ApiError(
            409,
            "Label already in use",
            cause=f"Label {body.label!r} is already held by {exc.holder} in {name!r}.",
            remediation=f"Choose another label, or first relabel {exc.holder}.",
        ) from exc
    return Status()
