"""Endpoints for ``/api/experiments/{experiment}/chart_preferences``.

GET and PATCH: which charts the UI shows for an experiment, in which order, kept on the leader
so that every browser shows the same.
"""

from __future__ import annotations

from fastapi import APIRouter

from pioleader.api.chart_preferences.models import ChartPreferences, ChartPreferencesUpdate
from pioleader.api.experiments.router import ExperimentPath, experiment_not_found
from pioleader.api.experiments.store import ExperimentNotFound
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import error_responses

router = APIRouter(tags=["experiments"])

PATH = "/api/experiments/{experiment}/chart_preferences"


@router.get(PATH, response_model=ChartPreferences, responses=error_responses(404))
async def get_experiment_chart_preferences(
    experiment: ExperimentPath, services: ServicesDep
) -> ChartPreferences:
    """The experiment's chart selection: null lists mean the configured defaults."""
    try:
        return await services.chart_preferences.get(experiment)
    except ExperimentNotFound as exc:
        raise experiment_not_found(experiment) from exc


@router.patch(PATH, response_model=ChartPreferences, responses=error_responses(404))
async def update_experiment_chart_preferences(
    experiment: ExperimentPath, body: ChartPreferencesUpdate, services: ServicesDep, now: NowDep
) -> ChartPreferences:
    """Change one or both lists (null: back to the defaults; []: no chart); answers both."""
    try:
        return await services.chart_preferences.update(
            experiment, body.model_dump(include=body.model_fields_set), now
        )
    except ExperimentNotFound as exc:
        raise experiment_not_found(experiment) from exc
