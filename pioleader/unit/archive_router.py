"""The unit API's backup endpoints: GET /unit_api/zipped_dot_pioreactor and
POST /unit_api/import_zipped_dot_pioreactor (``archive.py`` says what is in a backup).

Both are refused (403) while a ``DISALLOW_UI_FILE_SYSTEM`` file is in the data directory. An
import is checked completely before the task starts, so a refused archive changes nothing; the
task swaps the files in and then restarts the unit, as upstream reboots it.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Response, UploadFile

from pioleader.errors import ApiError, error_responses
from pioleader.tasks import TaskAccepted
from pioleader.unit.archive import (
    ArchiveOwner,
    ArchiveRefused,
    build_backup,
    check_archive,
    restore,
)
from pioleader.unit.deps import UnitDep
from pioleader.unit.services import UnitServices

router = APIRouter(prefix="/unit_api", tags=["unit api"])

FLAG_FILE = "DISALLOW_UI_FILE_SYSTEM"
ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The zip file.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def require_file_access(unit: UnitServices) -> None:
    if await asyncio.to_thread((unit.data_dir / FLAG_FILE).exists):
        raise ApiError(
            403,
            "File system access is disabled on this unit.",
            cause=f"{FLAG_FILE} exists in {unit.name}'s data directory.",
            remediation="Remove that file to allow backups and restores through the API.",
        )


def zip_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/zipped_dot_pioreactor",
    response_class=Response,
    responses={**ZIP_RESPONSE, **error_responses(403)},
)
async def get_zipped_dot_pioreactor(unit: UnitDep) -> Response:
    """A zip of this unit's data directory (`dot_pioreactor.zip`)."""
    await require_file_access(unit)
    owner = ArchiveOwner(
        unit=unit.name, leader=unit.leader, is_leader=unit.name == unit.leader, version=unit.version
    )
    content = await asyncio.to_thread(build_backup, unit.data_dir, owner, unit.clock.now())
    return zip_response(content, "dot_pioreactor.zip")


def _save_upload(upload: UploadFile, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"import-{secrets.token_hex(8)}.zip"
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    return path


@router.post(
    "/import_zipped_dot_pioreactor",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(403),
)
async def import_dot_pioreactor_from_zip(
    unit: UnitDep,
    archive: Annotated[UploadFile, File(description="A dot_pioreactor.zip of this unit.")],
) -> TaskAccepted:
    """Restore this unit's data directory from a backup, then restart the unit (a task).

    400 if the archive is not a zip, has absolute paths, `..`, symbolic links, or belongs to
    another unit; nothing is changed then.
    """
    await require_file_access(unit)
    path = await asyncio.to_thread(_save_upload, archive, unit.data_dir / "uploads")
    try:
        await asyncio.to_thread(check_archive, path, unit.name)
    except ArchiveRefused as error:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise ApiError(
            400,
            "Invalid archive.",
            cause=str(error),
            remediation=f"Send a zip made by GET /unit_api/zipped_dot_pioreactor on {unit.name}.",
        ) from error
    stamp = unit.clock.now().strftime("%Y%m%dT%H%M%S")

    async def work() -> dict[str, Any]:
        try:
            restored = await asyncio.to_thread(restore, unit.data_dir, path, unit.name, stamp)
        except ArchiveRefused as error:
            raise ApiError(400, "Invalid archive.", cause=str(error)) from error
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        unit.tasks.spawn("reboot after import", unit.after(0.5, "reboot"))
        return {
            "restored_files": len(restored),
            "previous_files": f".backups/before_import_{stamp}",
            "rebooting": True,
        }

    return await unit.tasks.submit("import data directory", work, lock="import-dot-pioreactor-lock")
