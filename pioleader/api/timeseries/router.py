"""Endpoints for the charts of an experiment, each for all units and for one worker.

GET /api/experiments/{experiment}/time_series/{source} and
GET /api/workers/{pioreactor_unit}/experiments/{experiment}/time_series/{source}, for the
sources growth_rates, temperature_readings, od_readings_filtered, od_readings,
od_readings_fused and raw_od_readings; and the fallback
GET .../time_series/{data_source}/{column} in both forms, for any table with experiment,
pioreactor_unit and timestamp columns.

The six fixed sources share one handler shape, so they are registered from ``SOURCES`` under
the seed's handler names instead of being written out twelve times.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from pioleader.api.timeseries.models import SOURCES, Source, TimeSeries
from pioleader.api.timeseries.store import InvalidSource
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services

router = APIRouter(tags=["time series"])

ExperimentPath = Annotated[str, Path(description="Experiment name.")]
UnitPath = Annotated[str, Path(description="Unit name; only its series are returned.")]
Lookback = Annotated[
    float,
    Query(gt=0, allow_inf_nan=False, description="Window length in hours, ending now."),
]
TargetPoints = Annotated[
    int,
    Query(ge=1, description="Maximum points per series; 1 gives only the newest reading."),
]

ALL_UNITS = "/api/experiments/{experiment}/time_series"
ONE_UNIT = "/api/workers/{pioreactor_unit}/experiments/{experiment}/time_series"
# The seed's handler name for each source (raw_od_readings breaks the pattern upstream).
HANDLER_NAMES = {
    "growth_rates": "get_growth_rates",
    "temperature_readings": "get_temperature_readings",
    "od_readings_filtered": "get_od_readings_filtered",
    "od_readings": "get_od_readings",
    "od_readings_fused": "get_od_readings_fused",
    "raw_od_readings": "get_od_raw_readings",
}
CACHE_SECONDS = 5  # Matches upstream (§3.6): charts refetch often, a few seconds stale is fine.


async def _read(
    services: Services,
    source: Source,
    experiment: str,
    unit: str | None,
    now: datetime,
    lookback: float,
    target_points: int,
) -> Response:
    """The body comes pre-rendered from the store (see ``RenderedSeries``), so it is sent as
    it is; ``response_model=TimeSeries`` on each route documents its shape."""
    rendered = await services.timeseries.series(
        source, experiment, unit=unit, now=now, lookback_hours=lookback, target_points=target_points
    )
    return Response(
        rendered.render(),
        media_type="application/json",
        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"},
    )


def _all_units_handler(source: Source) -> Callable[..., Awaitable[Response]]:
    async def handler(
        experiment: ExperimentPath,
        services: ServicesDep,
        now: NowDep,
        lookback: Lookback = 4.0,
        target_points: TargetPoints = 720,
    ) -> Response:
        return await _read(services, source, experiment, None, now, lookback, target_points)

    return handler


def _one_unit_handler(source: Source) -> Callable[..., Awaitable[Response]]:
    async def handler(
        pioreactor_unit: UnitPath,
        experiment: ExperimentPath,
        services: ServicesDep,
        now: NowDep,
        lookback: Lookback = 4.0,
        target_points: TargetPoints = 720,
    ) -> Response:
        return await _read(
            services, source, experiment, pioreactor_unit, now, lookback, target_points
        )

    return handler


def _describe(source: Source) -> str:
    per = "unit and channel ('<unit>-<channel>')" if source.per_channel else "unit"
    return (
        f"`{source.table}.{source.column}` over the last `lookback` hours, one series per {per}, "
        f"values rounded to {source.digits} decimals, at most `target_points` points per series "
        "(evenly spaced in time, first and last reading kept)."
    )


for _name, _source in SOURCES.items():
    router.add_api_route(
        f"{ALL_UNITS}/{_name}",
        _all_units_handler(_source),
        methods=["GET"],
        name=HANDLER_NAMES[_name],
        response_model=TimeSeries,
        responses=error_responses(),
        description=_describe(_source),
    )
    router.add_api_route(
        f"{ONE_UNIT}/{_name}",
        _one_unit_handler(_source),
        methods=["GET"],
        name=f"{HANDLER_NAMES[_name]}_per_unit",
        response_model=TimeSeries,
        responses=error_responses(),
        description=_describe(_source) + " Only the given unit's series.",
    )


async def _fallback_source(services: Services, data_source: str, column: str) -> Source:
    try:
        return await services.timeseries.fallback_source(data_source, column)
    except InvalidSource as exc:
        raise ApiError(
            400,
            f"Invalid {exc.field}.",
            cause=exc.reason,
            remediation="Name a table with experiment, pioreactor_unit and timestamp columns, "
            "and one of its numeric columns (e.g. liquid_volumes/liquid_volume).",
        ) from exc


@router.get(
    ALL_UNITS + "/{data_source}/{column}", response_model=TimeSeries, responses=error_responses()
)
async def get_fallback_time_series(
    experiment: ExperimentPath,
    data_source: Annotated[str, Path(description="Table to read.")],
    column: Annotated[str, Path(description="Numeric column of that table.")],
    services: ServicesDep,
    now: NowDep,
    lookback: Lookback = 4.0,
    target_points: TargetPoints = 720,
) -> Response:
    """Any numeric column of a table scoped by experiment and unit, one series per unit."""
    source = await _fallback_source(services, data_source, column)
    return await _read(services, source, experiment, None, now, lookback, target_points)


@router.get(
    ONE_UNIT + "/{data_source}/{column}", response_model=TimeSeries, responses=error_responses()
)
async def get_fallback_time_series_per_unit(
    pioreactor_unit: UnitPath,
    experiment: ExperimentPath,
    data_source: Annotated[str, Path(description="Table to read.")],
    column: Annotated[str, Path(description="Numeric column of that table.")],
    services: ServicesDep,
    now: NowDep,
    lookback: Lookback = 4.0,
    target_points: TargetPoints = 720,
) -> Response:
    """The fallback series of one unit."""
    source = await _fallback_source(services, data_source, column)
    return await _read(services, source, experiment, pioreactor_unit, now, lookback, target_points)
