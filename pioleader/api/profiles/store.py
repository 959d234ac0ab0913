"""SQL for experiment profile runs (written by the ingester)."""

from __future__ import annotations

import sqlite3

from pioleader.api.profiles.models import ProfileRun
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
