"""Task results in SQLite, so that they survive a leader restart until they expire."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from pioleader.clock import format_timestamp
from pioleader.db import Database, Migration, load_migrations
from pioleader.tasks.models import TaskStatus, result_url_path

INTERRUPTED_CAUSE = "The leader stopped while this task was pending or running."


def task_migrations() -> tuple[Migration, ...]:
    return load_migrations("pioleader.tasks", "migrations")


class TaskStore:
    """Persists the state of every background task."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, task_id: str, name: str, now: datetime) -> None:
        stamp = format_timestamp(now)

        def insert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO task_results (task_id, name, status, created_at, updated_at)"
                " VALUES (?, ?, 'pending', ?, ?)",
                (task_id, name, stamp, stamp),
            )

        await self._db.write(insert)

    async def mark_running(self, task_id: str, now: datetime) -> None:
        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE task_results SET status = 'running', updated_at = ? WHERE task_id = ?",
                (format_timestamp(now), task_id),
            )

        await self._db.write(update)

    async def set_progress(self, task_id: str, progress: Any, now: datetime) -> None:
        payload = json.dumps(progress)

        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE task_results SET progress = ?, updated_at = ? WHERE task_id = ?",
                (payload, format_timestamp(now), task_id),
            )

        await self._db.write(update)

    async def succeed(self, task_id: str, result: Any, now: datetime, expires: datetime) -> None:
        payload = json.dumps(result)

        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE task_results SET status = 'succeeded', result = ?, updated_at = ?,"
                " expires_at = ? WHERE task_id = ?",
                (payload, format_timestamp(now), format_timestamp(expires), task_id),
            )

        await self._db.write(update)

    async def fail(
        self,
        task_id: str,
        *,
        error: str,
        cause: str,
        remediation: str,
        now: datetime,
        expires: datetime,
    ) -> None:
        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE task_results SET status = 'failed', error = ?, cause = ?,"
                " remediation = ?, updated_at = ?, expires_at = ? WHERE task_id = ?",
                (
                    error,
                    cause,
                    remediation,
                    format_timestamp(now),
                    format_timestamp(expires),
                    task_id,
                ),
            )

        await self._db.write(update)

    async def fail_interrupted(self, now: datetime, expires: datetime) -> int:
        """End every task a previous leader left unfinished; return how many there were."""

        def update(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "UPDATE task_results SET status = 'failed', error = 'Task interrupted.',"
                " cause = ?, remediation = 'Start the operation again.', updated_at = ?,"
                " expires_at = ? WHERE status IN ('pending', 'running')",
                (INTERRUPTED_CAUSE, format_timestamp(now), format_timestamp(expires)),
            )
            return cursor.rowcount

        return await self._db.write(update)

    async def purge_expired(self, now: datetime) -> int:
        def delete(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "DELETE FROM task_results WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (format_timestamp(now),),
            )
            return cursor.rowcount

        return await self._db.write(delete)

    async def get(self, task_id: str, now: datetime) -> TaskStatus | None:
        """The task's status, or None if it is unknown or has expired."""

        def select(connection: sqlite3.Connection) -> dict[str, Any] | None:
            row: dict[str, Any] | None = connection.execute(
                "SELECT status, result, error, cause, remediation, expires_at, progress"
                " FROM task_results WHERE task_id = ?",
                (task_id,),
            ).fetchone()
            return row

        row = await self._db.read(select)
        if row is None:
            return None
        if row["expires_at"] is not None and row["expires_at"] <= format_timestamp(now):
            return None
        return TaskStatus(
            task_id=task_id,
            result_url_path=result_url_path(task_id),
            status=row["status"],
            result=json.loads(row["result"]) if row["result"] is not None else None,
            error=row["error"],
            cause=row["cause"],
            remediation=row["remediation"],
            progress=json.loads(row["progress"]) if row["progress"] is not None else None,
        )
