"""SQL for the worker inventory (the ``workers`` table)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pioleader.api.workers.models import Worker
from pioleader.clock import format_timestamp
from pioleader.db import Database, Row

_COLUMNS = "pioreactor_unit, added_at, is_active, model_name, model_version"


class WorkerNotFound(Exception):
    pass


def _require(connection: sqlite3.Connection, unit: str) -> None:
    if not connection.execute(
        "SELECT 1 FROM workers WHERE pioreactor_unit = ?", (unit,)
    ).fetchone():
        raise WorkerNotFound(unit)


class WorkerStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_all(self) -> list[Worker]:
        def select(connection: sqlite3.Connection) -> list[Row]:
            rows: list[Row] = connection.execute(
                f"SELECT {_COLUMNS} FROM workers ORDER BY pioreactor_unit"  # noqa: S608
            ).fetchall()
            return rows

        return [Worker(**row) for row in await self._db.read(select)]

    async def get(self, unit: str) -> Worker | None:
        def select(connection: sqlite3.Connection) -> Row | None:
            row: Row | None = connection.execute(
                f"SELECT {_COLUMNS} FROM workers WHERE pioreactor_unit = ?",  # noqa: S608
                (unit,),
            ).fetchone()
            return row

        row = await self._db.read(select)
        return Worker(**row) if row else None

    async def names(self) -> list[str]:
        return [worker.pioreactor_unit for worker in await self.list_all()]

    async def add(
        self, unit: str, model_name: str | None, model_version: str | None, now: datetime
    ) -> bool:
        """Register a worker; return False if it was registered already.

        A retry never resets ``added_at`` or ``is_active`` and never drops the worker's
        experiment assignment (upstream's insert-or-replace did both). A model given with the
        retry is applied, since the caller asked for it explicitly.
        """

        def upsert(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "INSERT INTO workers (pioreactor_unit, added_at, model_name, model_version,"
                " is_active) VALUES (?, ?, ?, ?, 1) ON CONFLICT (pioreactor_unit) DO NOTHING",
                (unit, format_timestamp(now), model_name, model_version),
            )
            created = cursor.rowcount == 1
            if not created and model_name is not None:
                connection.execute(
                    "UPDATE workers SET model_name = ?, model_version = ?"
                    " WHERE pioreactor_unit = ?",
                    (model_name, model_version, unit),
                )
            return created

        return await self._db.write(upsert)

    async def delete(self, unit: str) -> str | None:
        """Remove the worker, its assignment and its unit-config history.

        Returns the experiment it was assigned to, if any. Raises WorkerNotFound.
        """

        def delete(connection: sqlite3.Connection) -> str | None:
            _require(connection, unit)
            row = connection.execute(
                "SELECT experiment FROM experiment_worker_assignments WHERE pioreactor_unit = ?",
                (unit,),
            ).fetchone()
            connection.execute("DELETE FROM workers WHERE pioreactor_unit = ?", (unit,))
            connection.execute(
                "DELETE FROM config_files_histories WHERE filename IN (?, ?)",
                (f"unit_config.ini::{unit}", f"config_{unit}.ini"),
            )
            return str(row["experiment"]) if row else None

        return await self._db.write(delete)

    async def set_active(self, unit: str, is_active: int) -> None:
        def update(connection: sqlite3.Connection) -> None:
            _require(connection, unit)
            connection.execute(
                "UPDATE workers SET is_active = ? WHERE pioreactor_unit = ?", (is_active, unit)
            )

        await self._db.write(update)

    async def set_model(self, unit: str, model_name: str, model_version: str) -> None:
        def update(connection: sqlite3.Connection) -> None:
            _require(connection, unit)
            connection.execute(
                "UPDATE workers SET model_name = ?, model_version = ? WHERE pioreactor_unit = ?",
                (model_name, model_version, unit),
            )

        await self._db.write(update)
