"""Endpoints for software updates and uploads: POST /api/system/update_next_version,
POST /api/system/update_from_archive, POST /api/system/upload.

Updates are leader tasks (under ``cluster-update-lock``) that ask each unit to update and
report every unit's answer. The result says ``updated: true`` only when every unit did; a
simulated unit never does (see ``unit/update_router.py``), and the message says so.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile

from pioleader.api.updates.models import (
    UpdateFromArchive,
    UpdateNextVersion,
    UpdateReport,
    Uploaded,
)
from pioleader.cluster import UnitRequest, fanout
from pioleader.deps import ServicesDep
from pioleader.errors import ApiError, error_responses
from pioleader.services import Services
from pioleader.tasks import TaskAccepted
from pioleader.unit.archive import ArchiveRefused, check_members
from pioleader.unit.usb import UsbDrive

router = APIRouter(tags=["system"])

UPLOADS_FLAG = "DISALLOW_UI_UPLOADS"
UPLOAD_PREFIX = "pioreactor_update_archive_"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RELEASE_WHEEL = re.compile(r"^pioleader-(\d[^-]*)-[^/]+\.whl$")


def uploads_dir(services: Services) -> Path:
    return services.settings.data_dir / "uploads"


def safe_name(filename: str) -> str:
    """The file's own name, reduced to letters, digits, '.', '_' and '-'."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).lstrip("._")[:120]


def _save(upload: UploadFile, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{UPLOAD_PREFIX}{secrets.token_hex(8)}_{name}"
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    partial.replace(path)
    return path


@router.post("/api/system/upload", response_model=Uploaded, responses=error_responses(403, 413))
async def upload_system_file(
    file: Annotated[UploadFile, File(description="The file, e.g. a release archive.")],
    services: ServicesDep,
) -> Uploaded:
    """Store a file on the leader (multipart field `file`), for update_from_archive.

    The name is reduced to safe characters and prefixed; 403 if `DISALLOW_UI_UPLOADS` is in
    the leader's data directory; 413 above `[pioleader] max_upload_bytes`.
    """
    if await asyncio.to_thread((services.settings.data_dir / UPLOADS_FLAG).exists):
        raise ApiError(
            403,
            "Uploads are disabled.",
            cause=f"{UPLOADS_FLAG} exists in the leader's data directory.",
            remediation="Remove that file to allow uploads, or copy the file by other means.",
        )
    name = safe_name(file.filename or "")
    if not name:
        raise ApiError(
            400,
            "Invalid file name.",
            cause=f"file: the name {file.filename!r} has no usable characters.",
            remediation="Send the file with a name such as release.zip.",
        )
    path = await asyncio.to_thread(_save, file, uploads_dir(services), name)
    return Uploaded(message="File successfully uploaded", save_path=str(path))


def summarise(envelopes: dict[str, dict[str, Any]]) -> UpdateReport:
    updated = [u for u, e in envelopes.items() if e["ok"] and e["value"].get("updated") is True]
    simulated = [u for u, e in envelopes.items() if e["ok"] and e["value"].get("simulated")]
    failed = [u for u, e in envelopes.items() if not e["ok"]]
    parts = [f"{len(updated)} of {len(envelopes)} unit(s) updated"]
    if simulated:
        parts.append(f"simulated, not updated: {', '.join(simulated)}")
    if failed:
        parts.append(f"failed or unreachable: {', '.join(failed)}")
    return UpdateReport(
        updated=bool(envelopes) and len(updated) == len(envelopes),
        msg="; ".join(parts) + ".",
        units=envelopes,
    )


async def _update_task(
    services: Services, units: str, name: str, body: dict[str, Any]
) -> TaskAccepted:
    targets = await services.targets.expand_to_units(units)
    request = UnitRequest("POST", "/unit_api/system/update", json=body, task_timeout=600.0)

    async def work() -> UpdateReport:
        return summarise(await fanout(services.units, targets, request))

    return await services.tasks.submit(name, work, lock="cluster-update-lock")


@router.post(
    "/api/system/update_next_version",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def update_app(services: ServicesDep, body: UpdateNextVersion | None = None) -> TaskAccepted:
    """Update a unit, or every unit for `$broadcast` (the default), to the newest release.

    A task whose result is `{updated, msg, units: {unit: envelope}}`; `updated` is true only
    if every unit updated. The body is optional.
    """
    wanted = body or UpdateNextVersion()
    return await _update_task(services, wanted.units, "update to the next version", {})


def _release_version(services: Services, location: str) -> tuple[Path, str]:
    settings = services.settings
    drive = UsbDrive.of(settings.data_dir, settings.config_files.merged())
    path = Path(location).expanduser().resolve()
    allowed = [uploads_dir(services).resolve(), drive.mountpoint.resolve()]

    def refuse(cause: str) -> ApiError:
        return ApiError(
            400,
            "Invalid release archive.",
            cause=f"release_archive_location: {cause}",
            remediation="Upload the release with POST /api/system/upload and give its "
            "save_path, or give a .zip on the leader's mounted USB drive.",
        )

    if path.suffix != ".zip":
        raise refuse(f"{location!r} is not a .zip file.")
    if not any(path.is_relative_to(folder) for folder in allowed):
        raise refuse(f"{location!r} is neither an upload nor on the USB drive.")
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise refuse(f"{location!r} does not exist or is not a zip.")
    with zipfile.ZipFile(path) as archive:
        try:
            check_members(archive.infolist())
        except ArchiveRefused as error:
            raise refuse(str(error)) from error
        versions = [
            match.group(1)
            for match in (_RELEASE_WHEEL.match(n.rsplit("/", 1)[-1]) for n in archive.namelist())
            if match
        ]
    if len(versions) != 1:
        raise refuse(f"{location!r} holds {len(versions)} pioleader wheels; a release has one.")
    return path, versions[0]


@router.post(
    "/api/system/update_from_archive",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def update_app_from_release_archive(
    body: UpdateFromArchive, services: ServicesDep
) -> TaskAccepted:
    """Update a unit, or every unit for `$broadcast`, from a release archive on the leader.

    400 unless the archive is a .zip among the leader's uploads or on its USB drive, with safe
    member names and exactly one `pioleader-<version>-….whl`. The task's result is as for
    update_next_version.
    """
    path, version = await asyncio.to_thread(
        _release_version, services, body.release_archive_location
    )
    return await _update_task(
        services,
        body.units,
        f"update to {version} from an archive",
        {"target_version": version, "source": path.name},
    )
