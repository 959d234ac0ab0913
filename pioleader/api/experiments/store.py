"""SQL for experiments and their tags."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pioleader.api.experiments.models import (
    DatabaseSpace,
    Experiment,
    ExperimentCount,
    ExperimentCreate,
    HistoricalValue,
)
from pioleader.clock import format_timestamp, parse_timestamp
from pioleader.db import Database, Row


class ExperimentExists(Exception):
    pass


class ExperimentNotFound(Exception):
    pass


@dataclass(frozen=True)
class Deletion:
    unassigned: list[str]  # workers that were assigned to the deleted experiment
    database_space: DatabaseSpace


_SELECT = """
SELECT e.experiment, e.created_at, e.description,
       (SELECT COUNT(*) FROM experiment_worker_assignments AS a
          JOIN workers AS w ON w.pioreactor_unit = a.pioreactor_unit
         WHERE a.experiment = e.experiment) AS worker_count,
       (SELECT json_group_array(tag) FROM
          (SELECT tag FROM experiment_tags AS t WHERE t.experiment = e.experiment
            ORDER BY t.rowid)) AS tags
  FROM experiments AS e
"""


def whole_hours_since(created_at: str, now: datetime) -> float:
    """Whole hours elapsed, as a float (upstream shows ``71.0``)."""
    elapsed = (now - parse_timestamp(created_at)).total_seconds()
    return float(math.floor(max(elapsed, 0.0) / 3600))


def _to_experiment(row: Row, now: datetime) -> Experiment:
    return Experiment(
        experiment=row["experiment"],
        created_at=row["created_at"],
        description=row["description"],
        delta_hours=whole_hours_since(row["created_at"], now),
        worker_count=row["worker_count"],
        tags=json.loads(row["tags"]),
    )


def _select(
    connection: sqlite3.Connection, where: str, params: tuple[Any, ...], order: str
) -> list[Row]:
    rows: list[Row] = connection.execute(f"{_SELECT} {where} {order}", params).fetchall()
    return rows


def _replace_tags(
    connection: sqlite3.Connection, experiment: str, tags: list[str], stamp: str
) -> None:
    connection.execute("DELETE FROM experiment_tags WHERE experiment = ?", (experiment,))
    connection.executemany(
        "INSERT INTO experiment_tags (experiment, tag, created_at) VALUES (?, ?, ?)",
        [(experiment, tag, stamp) for tag in tags],
    )


class ExperimentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_all(self, now: datetime) -> list[Experiment]:
        rows = await self._db.read(lambda c: _select(c, "", (), "ORDER BY e.created_at DESC"))
        return [_to_experiment(row, now) for row in rows]

    async def get(self, experiment: str, now: datetime) -> Experiment:
        rows = await self._db.read(
            lambda c: _select(c, "WHERE e.experiment = ?", (experiment,), "")
        )
        if not rows:
            raise ExperimentNotFound(experiment)
        return _to_experiment(rows[0], now)

    async def exists(self, experiment: str) -> bool:
        def select(connection: sqlite3.Connection) -> bool:
            found = connection.execute(
                "SELECT 1 FROM experiments WHERE experiment = ?", (experiment,)
            ).fetchone()
            return found is not None

        return await self._db.read(select)

    async def latest(self, now: datetime) -> Experiment | None:
        rows = await self._db.read(lambda c: _select(c, "", (), "ORDER BY e.rowid DESC LIMIT 1"))
        return _to_experiment(rows[0], now) if rows else None

    async def latest_name(self) -> str | None:
        def select(connection: sqlite3.Connection) -> str | None:
            row = connection.execute("SELECT experiment FROM latest_experiment").fetchone()
            return str(row["experiment"]) if row else None

        return await self._db.read(select)

    async def active(self, now: datetime) -> list[Experiment]:
        where = (
            "WHERE EXISTS (SELECT 1 FROM experiment_worker_assignments AS a"
            " JOIN workers AS w ON w.pioreactor_unit = a.pioreactor_unit"
            " WHERE a.experiment = e.experiment AND w.is_active = 1)"
        )
        rows = await self._db.read(lambda c: _select(c, where, (), "ORDER BY e.created_at DESC"))
        return [_to_experiment(row, now) for row in rows]

    async def assignment_counts(self) -> list[ExperimentCount]:
        def select(connection: sqlite3.Connection) -> list[Row]:
            rows: list[Row] = connection.execute(
                "SELECT a.experiment, COUNT(*) AS worker_count"
                "  FROM experiment_worker_assignments AS a"
                "  JOIN workers AS w ON w.pioreactor_unit = a.pioreactor_unit"
                " GROUP BY a.experiment ORDER BY a.experiment"
            ).fetchall()
            return rows

        return [ExperimentCount(**row) for row in await self._db.read(select)]

    async def create(self, body: ExperimentCreate, now: datetime) -> Experiment:
        stamp = format_timestamp(now)

        def insert(connection: sqlite3.Connection) -> None:
            try:
                connection.execute(
                    "INSERT INTO experiments"
                    " (experiment, created_at, description, media_used, organism_used)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (body.experiment, stamp, body.description, body.media_used, body.organism_used),
                )
            except sqlite3.IntegrityError as error:
                raise ExperimentExists(body.experiment) from error
            _replace_tags(connection, body.experiment, body.tags, stamp)

        await self._db.write(insert)
        return await self.get(body.experiment, now)

    async def update(
        self,
        experiment: str,
        *,
        description: str | None,
        tags: list[str] | None,
        now: datetime,
    ) -> Experiment:
        def change(connection: sqlite3.Connection) -> None:
            if not connection.execute(
                "SELECT 1 FROM experiments WHERE experiment = ?", (experiment,)
            ).fetchone():
                raise ExperimentNotFound(experiment)
            if description is not None:
                connection.execute(
                    "UPDATE experiments SET description = ? WHERE experiment = ?",
                    (description, experiment),
                )
            if tags is not None:
                _replace_tags(connection, experiment, tags, format_timestamp(now))

        await self._db.write(change)
        return await self.get(experiment, now)

    async def delete(self, experiment: str) -> Deletion:
        """Delete the experiment and, by cascade, everything recorded under it."""

        def delete(connection: sqlite3.Connection) -> list[str]:
            assigned = [
                str(row["pioreactor_unit"])
                for row in connection.execute(
                    "SELECT pioreactor_unit FROM experiment_worker_assignments"
                    " WHERE experiment = ? ORDER BY pioreactor_unit",
                    (experiment,),
                ).fetchall()
            ]
            cursor = connection.execute(
                "DELETE FROM experiments WHERE experiment = ?", (experiment,)
            )
            if cursor.rowcount == 0:
                raise ExperimentNotFound(experiment)
            return assigned

        unassigned = await self._db.write(delete)
        return Deletion(unassigned=unassigned, database_space=await self._db.read(_database_space))

    async def historical(self, column: str) -> list[HistoricalValue]:
        """Distinct non-empty media or organisms, most recently used first."""
        if column not in ("media_used", "organism_used"):
            raise ValueError(column)

        def select(connection: sqlite3.Connection) -> list[Row]:
            rows: list[Row] = connection.execute(
                f"SELECT {column} AS key FROM experiments"  # noqa: S608 - column is allow-listed
                f" WHERE {column} IS NOT NULL AND TRIM({column}) != ''"
                f" GROUP BY {column} ORDER BY MAX(created_at) DESC"
            ).fetchall()
            return rows

        return [HistoricalValue(**row) for row in await self._db.read(select)]


def _database_space(connection: sqlite3.Connection) -> DatabaseSpace:
    page_size = int(connection.execute("PRAGMA page_size").fetchone()["page_size"])
    page_count = int(connection.execute("PRAGMA page_count").fetchone()["page_count"])
    freelist = int(connection.execute("PRAGMA freelist_count").fetchone()["freelist_count"])
    return DatabaseSpace(
        page_size=page_size,
        page_count=page_count,
        freelist_count=freelist,
        allocated_bytes=page_size * page_count,
        reclaimable_bytes=page_size * freelist,
        reclaimable_fraction=round(freelist / page_count, 6) if page_count else 0.0,
    )
