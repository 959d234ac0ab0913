"""Backing up and restoring a unit's data directory as a zip (``dot_pioreactor.zip``).

The backup holds the unit's configuration, calibrations, profiles, plugins and databases
(copied through SQLite's backup API, so a live database is consistent), plus
``pioreactor_export_metadata.json`` naming the unit. It leaves out what belongs to this run or
to other machines: task results and the job registry, logs, exports, uploads, the USB drive and
its mountpoint, the broker's files, and the simulated workers' own directories.

A restore checks the whole archive before it writes anything: a real zip, no absolute paths,
no ``..``, no symbolic links or special files, and metadata naming this unit. It then extracts
into a staging folder, moves the files it replaces into ``.backups/<stamp>/``, and moves the
staged files in. Blocking throughout: call through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from pioleader.clock import format_timestamp

METADATA = "pioreactor_export_metadata.json"
METADATA_VERSION = 1
# Top-level names that are never backed up nor restored.
EXCLUDED = frozenset(
    {
        "logs",
        "exports",
        "uploads",
        "usb",
        "usb_drive",
        "units",
        "mosquitto",
        "up.pid",
        ".backups",
    }
)
EXCLUDED_FILES = frozenset(
    {
        "storage/task_results.sqlite",
        "storage/local_intermittent_pioreactor_metadata.sqlite",
    }
)
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class ArchiveRefused(Exception):
    """The archive cannot be restored here; nothing was written."""


@dataclass(frozen=True)
class ArchiveOwner:
    unit: str
    leader: str
    is_leader: bool
    version: str


def _excluded(relative: PurePosixPath) -> bool:
    text = str(relative)
    if relative.parts and relative.parts[0] in EXCLUDED:
        return True
    if relative.parts and relative.parts[0].startswith(".import-"):
        return True
    if text.endswith(SQLITE_SIDE_FILES):
        return True
    return any(text == f or text.startswith(f + "-") for f in EXCLUDED_FILES)


def _files(data_dir: Path) -> Iterator[tuple[Path, PurePosixPath]]:
    for root, dirs, files in os.walk(data_dir):
        base = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not (base / d).is_symlink()
            and not _excluded(PurePosixPath((base / d).relative_to(data_dir).as_posix()))
        )
        for name in sorted(files):
            path = base / name
            relative = PurePosixPath(path.relative_to(data_dir).as_posix())
            if path.is_symlink() or not path.is_file() or _excluded(relative):
                continue
            yield path, relative


def _sqlite_copy(path: Path, into: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(into)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def build_backup(data_dir: Path, owner: ArchiveOwner, now: datetime) -> bytes:
    """The zip of ``data_dir`` as bytes."""
    with tempfile.TemporaryDirectory() as scratch, tempfile.SpooledTemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, relative in _files(data_dir):
                if path.suffix in (".sqlite", ".db"):
                    copy = Path(scratch) / "copy.sqlite"
                    copy.unlink(missing_ok=True)
                    _sqlite_copy(path, copy)
                    archive.write(copy, str(relative))
                else:
                    archive.write(path, str(relative))
            metadata = {
                "metadata_version": METADATA_VERSION,
                "name": owner.unit,
                "leader_hostname": owner.leader,
                "is_leader": owner.is_leader,
                "app_version": owner.version,
                "exported_at_utc": format_timestamp(now),
            }
            archive.writestr(METADATA, json.dumps(metadata, indent=2))
        buffer.seek(0)
        return buffer.read()


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    # Only the type bits matter; many zip writers leave them unset (then it is a file).
    kind = stat.S_IFMT(info.external_attr >> 16)
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"{name!r} is an absolute path"
    if "\\" in name:
        return f"{name!r} contains a backslash"
    if ".." in PurePosixPath(name).parts:
        return f"{name!r} climbs out of the archive with '..'"
    if kind == stat.S_IFLNK:
        return f"{name!r} is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return f"{name!r} is not a regular file or folder"
    return None


def check_members(members: list[zipfile.ZipInfo]) -> None:
    """Refuse absolute paths, '..', backslashes, links and special files anywhere."""
    for info in members:
        problem = _member_problem(info)
        if problem:
            raise ArchiveRefused(f"archive member {problem}.")


def check_archive(archive_path: Path, unit: str) -> tuple[str, list[zipfile.ZipInfo]]:
    """Validate the whole archive; return the prefix of this unit's files (``""`` for a unit
    backup, ``"<unit>/"`` in a cluster backup) and the members to restore."""
    if not zipfile.is_zipfile(archive_path):
        raise ArchiveRefused("archive is not a zip file.")
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = archive.infolist()
            check_members(members)
            names = {info.filename for info in members}
            prefix = "" if METADATA in names else f"{unit}/"
            if prefix + METADATA not in names:
                raise ArchiveRefused(
                    f"archive has no {METADATA} for {unit} (neither at its top nor in {unit}/)."
                )
            try:
                metadata = json.loads(archive.read(prefix + METADATA))
            except ValueError as error:
                raise ArchiveRefused(f"{METADATA} is not valid JSON: {error}.") from error
    except zipfile.BadZipFile as error:
        raise ArchiveRefused(f"archive is damaged: {error}.") from error
    owner = metadata.get("name") if isinstance(metadata, dict) else None
    if owner != unit:
        raise ArchiveRefused(f"archive belongs to {owner!r}, not to {unit!r}.")
    chosen = [
        info
        for info in members
        if info.filename.startswith(prefix)
        and not info.is_dir()
        and info.filename != prefix + METADATA
        and not _excluded(PurePosixPath(info.filename[len(prefix) :]))
    ]
    return prefix, chosen


def restore(data_dir: Path, archive_path: Path, unit: str, stamp: str) -> list[str]:
    """Check, stage, then swap the archive's files in; return the restored paths."""
    prefix, members = check_archive(archive_path, unit)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=data_dir))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            for info in members:
                target = staging / info.filename[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
        backups = data_dir / ".backups" / f"before_import_{stamp}"
        restored: list[str] = []
        for info in members:
            relative = info.filename[len(prefix) :]
            current = data_dir / relative
            if current.is_file() and not current.is_symlink():
                (backups / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(current, backups / relative)
            current.parent.mkdir(parents=True, exist_ok=True)
            for side in SQLITE_SIDE_FILES:
                # A restored database must not meet the old one's journal.
                Path(f"{current}{side}").unlink(missing_ok=True)
            os.replace(staging / relative, current)
            restored.append(relative)
        return restored
    finally:
        shutil.rmtree(staging, ignore_errors=True)
