"""SQL for per-experiment unit labels."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pioleader.api.experiments.store import ExperimentNotFound
from pioleader.clock import format_timestamp
from pioleader.db import Database


class LabelTaken(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class LabelStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def labels(self, experiment: str) -> dict[str, str]:
        def select(connection: sqlite3.Connection) -> dict[str, str]:
            rows = connection.execute(
                "SELECT pioreactor_unit, label FROM pioreactor_unit_labels"
                " WHERE experiment = ? ORDER BY pioreactor_unit",
                (experiment,),
            ).fetchall()
            return {row["pioreactor_unit"]: row["label"] for row in rows}

        return await self._db.read(select)

    async def set_label(self, experiment: str, unit: str, label: str, now: datetime) -> None:
        """Set, change, or (with an empty label) remove a unit's label.

        A label held by another unit of the experiment is refused with LabelTaken instead of
        silently taken from it, as upstream does.
        """

        def upsert(connection: sqlite3.Connection) -> None:
            if not connection.execute(
                "SELECT 1 FROM experiments WHERE experiment = ?", (experiment,)
            ).fetchone():
                raise ExperimentNotFound(experiment)
            if not label:
                connection.execute(
                    "DELETE FROM pioreactor_unit_labels"
                    " WHERE experiment = ? AND pioreactor_unit = ?",
                    (experiment, unit),
                )
                return
            holder = connection.execute(
                "SELECT pioreactor_unit FROM pioreactor_unit_labels"
                " WHERE experiment = ? AND label = ? AND pioreactor_unit != ?",
                (experiment, label, unit),
            ).fetchone()
            if holder:
                raise LabelTaken(str(holder["pioreactor_unit"]))
            connection.execute(
                "INSERT INTO pioreactor_unit_labels"
                " (experiment, pioreactor_unit, label, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (pioreactor_unit, experiment)"
                " DO UPDATE SET label = excluded.label, created_at = excluded.created_at",
                (experiment, unit, label, format_timestamp(now)),
            )

        await self._db.write(upsert)
