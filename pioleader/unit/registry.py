"""The unit's job registry: which jobs run, since when, and their current settings.

``jobs/running`` and ``jobs/settings`` answer from here, as upstream's unit API does from its
``pio_job_metadata`` and ``pio_job_published_settings`` tables.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from pioleader.clock import format_timestamp
from pioleader.db import Database, Migration, Row, load_migrations

_JOB_COLUMNS = (
    "job_id, unit, experiment, job_name, job_source, started_at, is_running, leader, pid,"
    " is_long_running_job, ended_at"
)


def unit_migrations() -> tuple[Migration, ...]:
    return load_migrations("pioleader.unit", "migrations")


class JobRegistry:
    def __init__(self, db: Database, unit: str, leader: str) -> None:
        self._db = db
        self._unit = unit
        self._leader = leader

    async def end_all_running(self, now: datetime) -> int:
        """Mark jobs of a previous process as ended (they died with it)."""

        def update(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "UPDATE pio_job_metadata SET is_running = 0, ended_at = ? WHERE is_running = 1",
                (format_timestamp(now),),
            )
            return cursor.rowcount

        return await self._db.write(update)

    async def register(
        self,
        *,
        experiment: str,
        job_name: str,
        job_source: str,
        pid: int,
        long_running: bool,
        now: datetime,
    ) -> int:
        def insert(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "INSERT INTO pio_job_metadata (unit, experiment, job_name, job_source, started_at,"
                " is_running, leader, pid, is_long_running_job) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (
                    self._unit,
                    experiment,
                    job_name,
                    job_source,
                    format_timestamp(now),
                    self._leader,
                    pid,
                    int(long_running),
                ),
            )
            return int(cursor.lastrowid or 0)

        return await self._db.write(insert)

    async def ended(self, job_id: int, now: datetime) -> None:
        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE pio_job_metadata SET is_running = 0, ended_at = ? WHERE job_id = ?",
                (format_timestamp(now), job_id),
            )

        await self._db.write(update)

    async def record_setting(
        self, job_id: int, setting: str, value: str | None, now: datetime
    ) -> None:
        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO pio_job_published_settings (job_id, setting, value, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (job_id, setting)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (job_id, setting, value, format_timestamp(now)),
            )

        await self._db.write(upsert)

    async def running(self, job_name: str | None = None) -> list[Row]:
        def select(connection: sqlite3.Connection) -> list[Row]:
            sql = f"SELECT {_JOB_COLUMNS} FROM pio_job_metadata WHERE is_running = 1"  # noqa: S608
            params: tuple[Any, ...] = ()
            if job_name is not None:
                sql += " AND job_name = ?"
                params = (job_name,)
            rows: list[Row] = connection.execute(sql + " ORDER BY job_id", params).fetchall()
            return rows

        return await self._db.read(select)

    async def settings_of_running(self, job_name: str) -> dict[str, str | None] | None:
        """Current settings of the running job with that name, or None if it is not running."""

        def select(connection: sqlite3.Connection) -> dict[str, str | None] | None:
            job = connection.execute(
                "SELECT job_id FROM pio_job_metadata WHERE is_running = 1 AND job_name = ?"
                " ORDER BY job_id DESC LIMIT 1",
                (job_name,),
            ).fetchone()
            if job is None:
                return None
            rows = connection.execute(
                "SELECT setting, value FROM pio_job_published_settings WHERE job_id = ?"
                " ORDER BY setting",
                (job["job_id"],),
            ).fetchall()
            return {row["setting"]: row["value"] for row in rows}

        return await self._db.read(select)
