"""SQL for experiment assignments; the history table is kept by triggers."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from pioleader.api.assignments.models import (
    ExperimentWorker,
    HistoricalAssignment,
    WorkerAssignment,
)
from pioleader.api.experiments.store import ExperimentNotFound
from pioleader.api.workers.store import WorkerNotFound
from pioleader.clock import format_timestamp
from pioleader.db import Database, Row


class NotAssigned(Exception):
    pass


@dataclass(frozen=True)
class Assignment:
    pioreactor_unit: str
    experiment: str
    assigned_at: str


@dataclass(frozen=True)
class AssignOutcome:
    assignment: Assignment
    previous_experiment: str | None
    changed: bool


def _rows(connection: sqlite3.Connection, sql: str, params: tuple[str, ...] = ()) -> list[Row]:
    rows: list[Row] = connection.execute(sql, params).fetchall()
    return rows


class AssignmentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all_workers(self) -> list[WorkerAssignment]:
        rows = await self._db.read(
            lambda c: _rows(
                c,
                "SELECT w.pioreactor_unit, a.experiment, w.is_active FROM workers AS w"
                " LEFT JOIN experiment_worker_assignments AS a"
                "   ON a.pioreactor_unit = w.pioreactor_unit"
                " ORDER BY w.pioreactor_unit",
            )
        )
        return [WorkerAssignment(**row) for row in rows]

    async def workers_in(self, experiment: str) -> list[ExperimentWorker]:
        rows = await self._db.read(
            lambda c: _rows(
                c,
                "SELECT w.pioreactor_unit, w.is_active, w.model_name, w.model_version"
                "  FROM experiment_worker_assignments AS a"
                "  JOIN workers AS w ON w.pioreactor_unit = a.pioreactor_unit"
                " WHERE a.experiment = ? ORDER BY w.pioreactor_unit",
                (experiment,),
            )
        )
        return [ExperimentWorker(**row) for row in rows]

    async def experiment_of(self, unit: str) -> str | None:
        rows = await self._db.read(
            lambda c: _rows(
                c,
                "SELECT experiment FROM experiment_worker_assignments WHERE pioreactor_unit = ?",
                (unit,),
            )
        )
        return str(rows[0]["experiment"]) if rows else None

    async def current(self) -> list[tuple[str, str | None, str | None]]:
        """(unit, experiment, assigned_at) for every worker; None where unassigned."""
        rows = await self._db.read(
            lambda c: _rows(
                c,
                "SELECT w.pioreactor_unit, a.experiment, a.assigned_at FROM workers AS w"
                " LEFT JOIN experiment_worker_assignments AS a"
                "   ON a.pioreactor_unit = w.pioreactor_unit ORDER BY w.pioreactor_unit",
            )
        )
        return [(r["pioreactor_unit"], r["experiment"], r["assigned_at"]) for r in rows]

    async def assign(self, unit: str, experiment: str, now: datetime) -> AssignOutcome:
        """Put ``unit`` in ``experiment``, moving it out of any other; a retry is a no-op."""

        def assign(connection: sqlite3.Connection) -> AssignOutcome:
            if not connection.execute(
                "SELECT 1 FROM experiments WHERE experiment = ?", (experiment,)
            ).fetchone():
                raise ExperimentNotFound(experiment)
            if not connection.execute(
                "SELECT 1 FROM workers WHERE pioreactor_unit = ?", (unit,)
            ).fetchone():
                raise WorkerNotFound(unit)
            current = connection.execute(
                "SELECT experiment, assigned_at FROM experiment_worker_assignments"
                " WHERE pioreactor_unit = ?",
                (unit,),
            ).fetchone()
            if current and current["experiment"] == experiment:
                return AssignOutcome(
                    Assignment(unit, experiment, current["assigned_at"]), experiment, False
                )
            stamp = format_timestamp(now)
            if current:
                connection.execute(
                    "DELETE FROM experiment_worker_assignments WHERE pioreactor_unit = ?", (unit,)
                )
            connection.execute(
                "INSERT INTO experiment_worker_assignments (pioreactor_unit, experiment,"
                " assigned_at) VALUES (?, ?, ?)",
                (unit, experiment, stamp),
            )
            previous = str(current["experiment"]) if current else None
            return AssignOutcome(Assignment(unit, experiment, stamp), previous, True)

        return await self._db.write(assign)

    async def unassign(self, unit: str, experiment: str) -> None:
        def unassign(connection: sqlite3.Connection) -> None:
            cursor = connection.execute(
                "DELETE FROM experiment_worker_assignments"
                " WHERE pioreactor_unit = ? AND experiment = ?",
                (unit, experiment),
            )
            if cursor.rowcount == 0:
                raise NotAssigned(unit)

        await self._db.write(unassign)

    async def unassign_experiment(self, experiment: str) -> list[str]:
        """Remove every worker from ``experiment``; return the units that were in it."""

        def unassign(connection: sqlite3.Connection) -> list[str]:
            rows = connection.execute(
                "DELETE FROM experiment_worker_assignments WHERE experiment = ?"
                " RETURNING pioreactor_unit",
                (experiment,),
            ).fetchall()
            return sorted(str(row["pioreactor_unit"]) for row in rows)

        return await self._db.write(unassign)

    async def unassign_everyone(self) -> list[str]:
        def unassign(connection: sqlite3.Connection) -> list[str]:
            rows = connection.execute(
                "DELETE FROM experiment_worker_assignments RETURNING pioreactor_unit"
            ).fetchall()
            return sorted(str(row["pioreactor_unit"]) for row in rows)

        return await self._db.write(unassign)

    async def history(self, experiment: str) -> list[HistoricalAssignment]:
        rows = await self._db.read(
            lambda c: _rows(
                c,
                "SELECT h.pioreactor_unit, h.experiment,"
                "       EXISTS (SELECT 1 FROM experiment_worker_assignments AS a"
                "                WHERE a.pioreactor_unit = h.pioreactor_unit"
                "                  AND a.experiment = h.experiment)"
                "         AS is_currently_assigned_to_experiment"
                "  FROM experiment_worker_assignments_history AS h"
                " WHERE h.experiment = ?"
                " GROUP BY h.pioreactor_unit ORDER BY h.pioreactor_unit",
                (experiment,),
            )
        )
        return [HistoricalAssignment(**row) for row in rows]
