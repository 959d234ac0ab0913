"""SQL for experiment profile runs (written when the leader's experiment_profile job starts)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pioleader.api.profiles.models import ProfileRun
from pioleader.clock import format_timestamp
from pioleader.db import Database, Row


class ProfileRunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def recent(self, experiment: str) -> list[ProfileRun]:
        """The experiment's profile runs, newest first."""

        def select(connection: sqlite3.Connection) -> list[Row]:
            rows: list[Row] = connection.execute(
                "SELECT started_at, experiment_profile_name, experiment"
                "  FROM experiment_profile_runs WHERE experiment = ?"
                " ORDER BY started_at DESC, rowid DESC",
                (experiment,),
            ).fetchall()
            return rows

        return [ProfileRun(**row) for row in await self._db.read(select)]

    async def add(self, experiment_profile_name: str, experiment: str, now: datetime) -> bool:
        """Record that a profile started; False if the experiment does not exist."""

        def insert(connection: sqlite3.Connection) -> bool:
            known = connection.execute(
                "SELECT 1 FROM experiments WHERE experiment = ?", (experiment,)
            ).fetchone()
            if known is None:
                return False
            connection.execute(
                "INSERT INTO experiment_profile_runs"
                " (started_at, experiment_profile_name, experiment) VALUES (?, ?, ?)",
                (format_timestamp(now), experiment_profile_name, experiment),
            )
            return True

        return await self._db.write(insert)
