"""Endpoints for backups: GET /api/units/{pioreactor_unit}/zipped_dot_pioreactor and
POST /api/units/{pioreactor_unit}/import_zipped_dot_pioreactor.

A backup of one unit is that unit's ``dot_pioreactor.zip``; for `$broadcast` it is
``cluster_dot_pioreactor.zip`` with each unit's files under ``<unit>/`` (and, if some units
could not be reached, ``failed_units.json`` naming them and why). An import is checked on the
leader as the unit will check it, so a bad archive is a 400 here and reaches no unit.
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
import zipfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Response, UploadFile

from pioleader.api.dispatch import fanout_task
from pioleader.cluster import UnitRequest, fanout
from pioleader.cluster.targets import BROADCAST
from pioleader.cluster.transport import FileField
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.archive import ArchiveRefused, check_archive
from pioleader.unit.archive_router import ZIP_RESPONSE, zip_response

router = APIRouter(tags=["backups"])

UnitPath = Annotated[str, Path(description="Unit name, or `$broadcast` for every unit.")]
ARCHIVE_TIMEOUT_SECONDS = 120.0


def merge(zips: dict[str, bytes], failures: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as merged:
        for unit, content in zips.items():
            with zipfile.ZipFile(io.BytesIO(content)) as part:
                for info in part.infolist():
                    merged.writestr(f"{unit}/{info.filename}", part.read(info))
        if failures:
            merged.writestr("failed_units.json", json.dumps(failures, indent=2))
    return buffer.getvalue()


@router.get(
    "/api/units/{pioreactor_unit}/zipped_dot_pioreactor",
    response_class=Response,
    responses={**ZIP_RESPONSE, **error_responses(502)},
)
async def get_zipped_dot_pioreactor(pioreactor_unit: UnitPath, services: ServicesDep) -> Response:
    """A zip of a unit's data directory, or of every unit's for `$broadcast`.

    502 if no unit could give its backup (the cause names each unit's error).
    """
    units = await services.targets.expand_to_units(pioreactor_unit)
    envelopes = await fanout(
        services.units,
        units,
        UnitRequest(
            "GET", "/unit_api/zipped_dot_pioreactor", raw=True, timeout=ARCHIVE_TIMEOUT_SECONDS
        ),
    )
    zips: dict[str, bytes] = {}
    failures: dict[str, Any] = {}
    for unit, envelope in envelopes.items():
        if not envelope["ok"]:
            failures[unit] = envelope["error"]
        elif not zipfile.is_zipfile(io.BytesIO(envelope["value"])):
            failures[unit] = {"kind": "invalid_response", "message": "The answer is not a zip."}
        else:
            zips[unit] = envelope["value"]
    if not zips:
        raise ApiError(
            502,
            "No backup could be made.",
            cause="; ".join(f"{u}: {error['message']}" for u, error in failures.items()),
            remediation="Check that the unit is running and allows file system access.",
        )
    if pioreactor_unit != BROADCAST:
        return zip_response(zips[units[0]], "dot_pioreactor.zip")
    content = await asyncio.to_thread(merge, zips, failures)
    return zip_response(content, "cluster_dot_pioreactor.zip")


def _checked_upload(archive: UploadFile, unit: str) -> tuple[str, bytes]:
    with tempfile.TemporaryDirectory() as scratch:
        path = FilePath(scratch) / "archive.zip"
        content = archive.file.read()
        path.write_bytes(content)
        try:
            check_archive(path, unit)
        except ArchiveRefused as error:
            raise ApiError(
                400,
                "Invalid archive.",
                cause=str(error),
                remediation=f"Send a zip made by GET /api/units/{unit}/zipped_dot_pioreactor.",
            ) from error
    return archive.filename or "dot_pioreactor.zip", content


@router.post(
    "/api/units/{pioreactor_unit}/import_zipped_dot_pioreactor",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def import_dot_pioreactor_archive(
    pioreactor_unit: Annotated[str, Path(description="Unit name (not `$broadcast`).")],
    archive: Annotated[UploadFile, File(description="A backup of this unit (or the cluster's).")],
    services: ServicesDep,
) -> TaskAccepted:
    """Restore a unit's data directory from a backup; the unit then restarts (a task).

    A cluster backup restores the unit's own folder. 400 if the archive is not a zip, has
    absolute paths, `..`, symbolic links, or holds no backup of this unit; nothing changes.
    """
    unit = await services.targets.single_unit(pioreactor_unit)
    filename, content = await asyncio.to_thread(_checked_upload, archive, unit)
    request = UnitRequest(
        "POST",
        "/unit_api/import_zipped_dot_pioreactor",
        file=FileField("archive", filename, content, "application/zip"),
        timeout=ARCHIVE_TIMEOUT_SECONDS,
        task_timeout=ARCHIVE_TIMEOUT_SECONDS,
    )
    return await fanout_task(services, f"import data directory of {unit}", [unit], request)
