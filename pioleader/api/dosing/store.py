"""SQL for dosing summaries."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from pioleader.api.dosing.models import MediaRate
from pioleader.clock import format_timestamp
from pioleader.db import Database, Row

MEDIA_RATE_WINDOW = timedelta(hours=3)
ALL_UNITS = "all"


def _media_rates(
    connection: sqlite3.Connection, experiment: str, start: str, end: str
) -> list[Row]:
    hours = MEDIA_RATE_WINDOW.total_seconds() / 3600
    rows: list[Row] = connection.execute(
        "SELECT COALESCE(pioreactor_unit, :all) AS unit,"
        "       COALESCE(SUM(CASE WHEN event = 'add_media' THEN volume_change_ml END), 0)"
        "         / :hours AS media,"
        "       COALESCE(SUM(CASE WHEN event = 'add_alt_media' THEN volume_change_ml END), 0)"
        "         / :hours AS alt_media"
        "  FROM dosing_events"
        " WHERE experiment = :experiment AND timestamp > :start AND timestamp <= :end"
        "   AND event IN ('add_media', 'add_alt_media')"
        " GROUP BY pioreactor_unit"
        " UNION ALL "
        "SELECT :all,"
        "       COALESCE(SUM(CASE WHEN event = 'add_media' THEN volume_change_ml END), 0) / :hours,"
        "       COALESCE(SUM(CASE WHEN event = 'add_alt_media' THEN volume_change_ml END), 0)"
        "         / :hours"
        "  FROM dosing_events"
        " WHERE experiment = :experiment AND timestamp > :start AND timestamp <= :end"
        "   AND event IN ('add_media', 'add_alt_media')",
        {"experiment": experiment, "start": start, "end": end, "hours": hours, "all": ALL_UNITS},
    ).fetchall()
    return rows


class DosingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def media_rates(self, experiment: str, now: datetime) -> dict[str, MediaRate]:
        """mL/h of media and alt media per unit over the last 3 hours, and for all units.

        Matches upstream (§3.1): only dosing events count (whatever their source), and the
        volume is divided by the window's 3 hours, not by the time the unit has been dosing.
        """
        start = format_timestamp(now - MEDIA_RATE_WINDOW)
        rows = await self._db.read(
            lambda c: _media_rates(c, experiment, start, format_timestamp(now))
        )
        return {
            str(row["unit"]): MediaRate(mediaRate=row["media"], altMediaRate=row["alt_media"])
            for row in rows
        }
