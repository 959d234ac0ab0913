"""SQL for the UI's chart preferences per experiment."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from pioleader.api.chart_preferences.models import ChartPreferences
from pioleader.api.experiments.store import ExperimentNotFound
from pioleader.clock import format_timestamp
from pioleader.db import Database

_COLUMNS = ("overview_chart_keys", "pioreactor_chart_keys")


def _read(connection: sqlite3.Connection, experiment: str) -> ChartPreferences:
    if not connection.execute(
        "SELECT 1 FROM experiments WHERE experiment = ?", (experiment,)
    ).fetchone():
        raise ExperimentNotFound(experiment)
    row = connection.execute(
        "SELECT overview_chart_keys, pioreactor_chart_keys FROM experiment_chart_preferences"
        " WHERE experiment = ?",
        (experiment,),
    ).fetchone()
    if row is None:
        return ChartPreferences()
    return ChartPreferences.model_validate(
        {column: None if row[column] is None else json.loads(row[column]) for column in _COLUMNS}
    )


class ChartPreferenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, experiment: str) -> ChartPreferences:
        return await self._db.read(lambda connection: _read(connection, experiment))

    async def update(
        self, experiment: str, changes: dict[str, list[str] | None], now: datetime
    ) -> ChartPreferences:
        """Set the given lists (None: back to the defaults), keep the others; one transaction."""

        def upsert(connection: sqlite3.Connection) -> ChartPreferences:
            current = _read(connection, experiment).model_dump()
            current.update(changes)
            encoded = [
                None if current[column] is None else json.dumps(current[column])
                for column in _COLUMNS
            ]
            connection.execute(
                "INSERT INTO experiment_chart_preferences"
                " (experiment, overview_chart_keys, pioreactor_chart_keys, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (experiment) DO UPDATE SET"
                " overview_chart_keys = excluded.overview_chart_keys,"
                " pioreactor_chart_keys = excluded.pioreactor_chart_keys,"
                " updated_at = excluded.updated_at",
                (experiment, *encoded, format_timestamp(now)),
            )
            return ChartPreferences.model_validate(current)

        return await self._db.write(upsert)
