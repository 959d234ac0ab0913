"""SQL for configuration history and the workers' sync state."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from pioleader.api.config.models import ConfigVersion
from pioleader.clock import format_timestamp
from pioleader.db import Database, Row

SHARED_FILENAME = "config.ini"


def unit_filename(unit: str) -> str:
    """How a unit's ``unit_config.ini`` versions are named in the history."""
    return f"unit_config.ini::{unit}"


class ConfigStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_version(self, filename: str, data: str, now: datetime) -> bool:
        """Add a version to the history unless it is the latest one already; True if added."""

        def insert(connection: sqlite3.Connection) -> bool:
            latest = connection.execute(
                "SELECT data FROM config_files_histories WHERE filename = ?"
                " ORDER BY timestamp DESC, rowid DESC LIMIT 1",
                (filename,),
            ).fetchone()
            if latest is not None and latest["data"] == data:
                return False
            connection.execute(
                "INSERT INTO config_files_histories (timestamp, filename, data) VALUES (?, ?, ?)",
                (format_timestamp(now), filename, data),
            )
            return True

        return await self._db.write(insert)

    async def history(self, filenames: Sequence[str]) -> list[ConfigVersion]:
        """Every version of the given files, newest first."""

        def select(connection: sqlite3.Connection) -> list[Row]:
            marks = ", ".join("?" for _ in filenames)
            rows: list[Row] = connection.execute(
                "SELECT filename, timestamp, data FROM config_files_histories"  # noqa: S608
                f" WHERE filename IN ({marks}) ORDER BY timestamp DESC, rowid DESC",
                tuple(filenames),
            ).fetchall()
            return rows

        return [ConfigVersion(**row) for row in await self._db.read(select)]

    async def record_push(
        self, unit: str, digest: str | None, error: str | None, now: datetime
    ) -> None:
        """Remember a push: ``digest`` when the unit acknowledged it, else the error."""
        stamp = format_timestamp(now)

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO config_sync_status"
                " (pioreactor_unit, synced_digest, synced_at, attempted_at, last_error)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (pioreactor_unit) DO UPDATE SET"
                "  synced_digest = COALESCE(excluded.synced_digest, synced_digest),"
                "  synced_at = COALESCE(excluded.synced_at, synced_at),"
                "  attempted_at = excluded.attempted_at, last_error = excluded.last_error",
                (unit, digest, stamp if digest else None, stamp, error),
            )

        await self._db.write(upsert)

    async def sync_rows(self) -> dict[str, Row]:
        def select(connection: sqlite3.Connection) -> list[Row]:
            rows: list[Row] = connection.execute(
                "SELECT pioreactor_unit, synced_digest, synced_at, attempted_at, last_error"
                " FROM config_sync_status"
            ).fetchall()
            return rows

        return {row["pioreactor_unit"]: row for row in await self._db.read(select)}
