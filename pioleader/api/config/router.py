"""Endpoints for the cluster's configuration (behaviour §3.7, §7).

GET/PATCH /api/config/shared, GET /api/config/shared/history, GET /api/config/units/{unit},
GET/PATCH /api/config/units/{unit}/specific, GET /api/config/units/{unit}/specific/history,
and GET /api/config/zipped (every file in one zip, as the UI's download button asks).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response

from pioleader.api.config.archive import zip_configs
from pioleader.api.config.models import (
    ConfigCode,
    ConfigVersion,
    MergedConfigs,
    SharedConfigUpdated,
)
from pioleader.api.config.store import SHARED_FILENAME, unit_filename
from pioleader.api.dispatch import unit_failure
from pioleader.cluster import UnitRequest, fanout
from pioleader.cluster.targets import BROADCAST
from pioleader.configuration.secrets import mask_sections, mask_text, restore_secrets
from pioleader.configuration.validate import ConfigInvalid, check_shared, check_unit, normalise
from pioleader.deps import NowDep, ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services
from pioleader.unit.config import invalid_config

router = APIRouter(prefix="/api/config", tags=["configuration"])

UnitPath = Annotated[
    str, Path(description="A unit's name, or $broadcast where documented.", max_length=64)
]
PLAIN_TEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's text.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def _shown(services: Services, text: str) -> str:
    return text if services.unit.reveal_secrets else mask_text(text)


def _history(services: Services, versions: list[ConfigVersion]) -> list[ConfigVersion]:
    return [
        version.model_copy(update={"data": _shown(services, version.data)}) for version in versions
    ]


async def _single_unit(services: Services, pioreactor_unit: str) -> str:
    """A registered unit, not ``$broadcast`` (400 either way)."""
    if pioreactor_unit == BROADCAST:
        raise ApiError(
            400,
            "$broadcast is not allowed here.",
            cause="A unit's own configuration file belongs to one unit.",
            remediation="Name the unit, e.g. /api/config/units/pio01/specific.",
        )
    return await services.targets.require_unit(pioreactor_unit)


@router.get("/shared", responses={**PLAIN_TEXT, **error_responses()})
async def get_shared_config(services: ServicesDep) -> PlainTextResponse:
    """The shared ``config.ini`` (secrets masked unless an api_key protects the API)."""
    return PlainTextResponse(_shown(services, await services.config_sync.shared_text()))


@router.patch("/shared", response_model=SharedConfigUpdated, responses=error_responses())
async def update_shared_config(body: ConfigCode, services: ServicesDep) -> SharedConfigUpdated:
    """Check, write and keep a new shared ``config.ini``, then push it to every worker.

    The answer says which workers have it; the others get it when they are reachable again.
    """
    stored = await services.config_sync.shared_text()
    text = restore_secrets(normalise(body.code), stored)
    try:
        check_shared(text)
    except ConfigInvalid as problem:
        raise invalid_config(problem) from problem
    outcome = await services.config_sync.update_shared(text)
    pending = {unit: error for unit, error in outcome.items() if error is not None}
    return SharedConfigUpdated(
        status="pending" if pending else "success",
        synced=[unit for unit, error in outcome.items() if error is None],
        pending=pending,
    )


@router.get("/shared/history", response_model=list[ConfigVersion], responses=error_responses())
async def get_shared_config_history(services: ServicesDep) -> list[ConfigVersion]:
    """Every version of the shared ``config.ini``, newest first."""
    return _history(services, await services.config_store.history([SHARED_FILENAME]))


@router.get(
    "/units/{pioreactor_unit}", response_model=MergedConfigs, responses=error_responses(502)
)
async def get_config_for_pioreactor_unit(
    pioreactor_unit: UnitPath,
    services: ServicesDep,
    unit: Annotated[
        list[str] | None,
        Query(
            description="With $broadcast: only these units (repeat the parameter).", max_length=100
        ),
    ] = None,
) -> MergedConfigs:
    """Each unit's effective configuration; ``$broadcast``: every unit (or the ``unit``
    query parameters' units), failures in errors."""
    units = await services.targets.expand_to_units(pioreactor_unit)
    if pioreactor_unit == BROADCAST and unit:
        units = [await services.targets.require_unit(name) for name in dict.fromkeys(unit)]
    leader = services.settings.leader_hostname
    configs: dict[str, dict[str, dict[str, str]]] = {}
    if leader in units:
        files = services.unit.config_files
        configs[leader] = await asyncio.to_thread(files.merged_sections)
    workers = [unit for unit in units if unit != leader]
    envelopes = await fanout(services.units, workers, UnitRequest("GET", "/unit_api/config/merged"))
    errors = {unit: envelope for unit, envelope in envelopes.items() if not envelope["ok"]}
    if pioreactor_unit != BROADCAST and errors:
        raise unit_failure(pioreactor_unit, errors[pioreactor_unit])
    configs.update({u: e["value"] for u, e in envelopes.items() if e["ok"]})
    if not services.unit.reveal_secrets:
        configs = {unit: mask_sections(sections) for unit, sections in configs.items()}
    return MergedConfigs(configs=dict(sorted(configs.items())), errors=errors)


@router.get(
    "/units/{pioreactor_unit}/specific",
    responses={**PLAIN_TEXT, **error_responses(502)},
)
async def get_specific_config_for_pioreactor_unit(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> PlainTextResponse:
    """The unit's own ``unit_config.ini`` ("" if it has none)."""
    unit = await _single_unit(services, pioreactor_unit)
    if unit == services.settings.leader_hostname:
        files = services.unit.config_files
        return PlainTextResponse(
            _shown(services, await asyncio.to_thread(files.read_text, files.unit_path))
        )
    envelope = (
        await services.units.call(
            unit, UnitRequest("GET", "/unit_api/config/specific", params={"format": "json"})
        )
    ).as_json()
    if not envelope["ok"]:
        raise unit_failure(unit, envelope)
    return PlainTextResponse(_shown(services, str(envelope["value"].get("code", ""))))


@router.patch(
    "/units/{pioreactor_unit}/specific",
    response_model=dict[str, str],
    responses=error_responses(502),
)
async def update_specific_config_for_pioreactor_unit(
    pioreactor_unit: UnitPath, body: ConfigCode, services: ServicesDep, now: NowDep
) -> dict[str, str]:
    """Check and write the unit's ``unit_config.ini`` (on the unit), and keep the version."""
    unit = await _single_unit(services, pioreactor_unit)
    files = services.unit.config_files
    shared = await services.config_sync.shared_text()
    text = normalise(body.code)
    if unit == services.settings.leader_hostname:
        text = restore_secrets(text, await asyncio.to_thread(files.read_text, files.unit_path))
    try:
        # The unit checks again; checking here first gives the same answer without a trip.
        check_unit(text, shared)
    except ConfigInvalid as problem:
        raise invalid_config(problem) from problem
    if unit == services.settings.leader_hostname:
        await asyncio.to_thread(files.write_text, files.unit_path, text)
    else:
        envelope = (
            await services.units.call(
                unit, UnitRequest("PATCH", "/unit_api/config/specific", json={"code": text})
            )
        ).as_json()
        if not envelope["ok"]:
            raise unit_failure(unit, envelope)
    await services.config_store.record_version(unit_filename(unit), text, now)
    return {"status": "success"}


@router.get(
    "/units/{pioreactor_unit}/specific/history",
    response_model=list[ConfigVersion],
    responses=error_responses(),
)
async def get_specific_config_history_for_pioreactor_unit(
    pioreactor_unit: UnitPath, services: ServicesDep
) -> list[ConfigVersion]:
    """Every version of the unit's ``unit_config.ini`` written through the API, newest first."""
    unit = await _single_unit(services, pioreactor_unit)
    versions = await services.config_store.history([unit_filename(unit), f"config_{unit}.ini"])
    return _history(services, versions)


@router.get(
    "/zipped",
    response_class=Response,
    responses={
        200: {
            "description": "config.ini, each unit's config_<unit>.ini, and metadata.json.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(),
    },
)
async def get_zipped_configs(services: ServicesDep, now: NowDep) -> Response:
    """Every configuration file of the cluster in one zip: the shared file and each unit's own.
    A worker that does not answer is listed in metadata.json's errors instead of failing all."""
    leader = services.settings.leader_hostname
    files = services.unit.config_files
    texts = {leader: await asyncio.to_thread(files.read_text, files.unit_path)}
    workers = [unit for unit in await services.targets.expand_to_units(BROADCAST) if unit != leader]
    envelopes = await fanout(
        services.units,
        workers,
        UnitRequest("GET", "/unit_api/config/specific", params={"format": "json"}),
    )
    texts.update({u: str(e["value"].get("code", "")) for u, e in envelopes.items() if e["ok"]})
    errors = {u: e["error"].get("message", "") for u, e in envelopes.items() if not e["ok"]}
    shared = await services.config_sync.shared_text()
    archive = await asyncio.to_thread(
        zip_configs,
        _shown(services, shared),
        {unit: _shown(services, text) for unit, text in texts.items()},
        errors,
        now,
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="config_files.zip"'},
    )
