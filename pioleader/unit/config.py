"""A unit's configuration files over HTTP (behaviour §7; unit-api-reference).

GET /unit_api/config/merged, GET/PATCH/POST /unit_api/config/specific, and our addition
PATCH /unit_api/config/shared: the leader pushes the shared ``config.ini`` to each worker over
HTTP (upstream copies it with rsync over SSH), so that the leader knows which units got it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from pioleader.configuration.secrets import mask_sections, mask_text, restore_secrets
from pioleader.configuration.validate import (
    ConfigInvalid,
    check_shared,
    check_unit,
    normalise,
)
from pioleader.errors import ApiError, error_responses
from pioleader.unit.deps import UnitDep
from pioleader.unit.models import ConfigCode

router = APIRouter(prefix="/unit_api/config", tags=["unit api"])

TEXT_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's text (JSON ``{code}`` with ``format=json``).",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": ConfigCode.model_json_schema()},
        },
    }
}


def invalid_config(problem: ConfigInvalid) -> ApiError:
    return ApiError(400, problem.error, cause=problem.cause, remediation=problem.remediation)


def shown(text: str, reveal: bool) -> str:
    return text if reveal else mask_text(text)


@router.get("/merged", response_model=dict[str, dict[str, str]], responses=error_responses())
async def get_merged_config(unit: UnitDep) -> dict[str, dict[str, str]]:
    """The effective configuration of this unit: shared, then its own, then derived."""
    sections = await asyncio.to_thread(unit.config_files.merged_sections)
    return sections if unit.reveal_secrets else mask_sections(sections)


@router.get("/specific", responses={**TEXT_OR_JSON, **error_responses()})
async def get_specific_config(
    unit: UnitDep,
    format: Annotated[
        Literal["text", "json"], Query(description="text (default) or json.")
    ] = "text",
) -> Response:
    """This unit's ``unit_config.ini`` ("" when it has none)."""
    files = unit.config_files
    text = shown(await asyncio.to_thread(files.read_text, files.unit_path), unit.reveal_secrets)
    if format == "json":
        return JSONResponse({"code": text})
    return PlainTextResponse(text)


@router.patch("/specific", response_model=dict[str, str], responses=error_responses())
@router.post("/specific", response_model=dict[str, str], responses=error_responses())
async def update_specific_config(body: ConfigCode, unit: UnitDep) -> dict[str, str]:
    """Replace this unit's ``unit_config.ini``, after checking it (nothing written if bad)."""
    files = unit.config_files
    stored = await asyncio.to_thread(files.read_text, files.unit_path)
    shared = await asyncio.to_thread(files.read_text, files.shared_path)
    text = restore_secrets(normalise(body.code), stored)
    try:
        check_unit(text, shared)
    except ConfigInvalid as problem:
        raise invalid_config(problem) from problem
    await asyncio.to_thread(files.write_text, files.unit_path, text)
    return {"status": "success"}


@router.patch("/shared", response_model=dict[str, str], responses=error_responses(403))
async def update_shared_config_of_unit(body: ConfigCode, unit: UnitDep) -> dict[str, str]:
    """Replace this worker's copy of the shared ``config.ini`` (the leader sends it)."""
    if unit.name == unit.leader:
        raise ApiError(
            403,
            "The leader owns the shared config.",
            cause=f"{unit.name} is the leader: its config.ini is the one workers copy.",
            remediation="Change it with PATCH /api/config/shared, which also updates workers.",
        )
    files = unit.config_files
    stored = await asyncio.to_thread(files.read_text, files.shared_path)
    text = restore_secrets(normalise(body.code), stored)
    try:
        check_shared(text)
    except ConfigInvalid as problem:
        raise invalid_config(problem) from problem
    await asyncio.to_thread(files.write_text, files.shared_path, text)
    return {"status": "success"}
