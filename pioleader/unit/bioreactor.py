"""The bioreactor variables a unit keeps per experiment (volume, alt-media fraction, totals).

Defaults come from ``[bioreactor]`` in the configuration; changes are stored in the unit's
registry database and published retained on ``pioreactor/<unit>/<experiment>/bioreactor/<var>``.
"""

from __future__ import annotations

import configparser
import sqlite3
from datetime import datetime

from pioleader.clock import format_timestamp
from pioleader.db import Database

VARIABLES = {
    "current_volume_ml": "initial_volume_ml",
    "efflux_tube_volume_ml": "efflux_tube_volume_ml",
    "alt_media_fraction": "initial_alt_media_fraction",
    "cumulative_media_added_ml": "initial_cumulative_media_added_ml",
    "cumulative_alt_media_added_ml": "initial_cumulative_alt_media_added_ml",
    "cumulative_waste_removed_ml": "initial_cumulative_waste_removed_ml",
}
VOLUMES = ("current_volume_ml", "efflux_tube_volume_ml")


def check_value(variable: str, value: float, capacity_ml: float | None) -> str | None:
    """Why ``value`` is not acceptable for ``variable``, or None if it is."""
    if variable not in VARIABLES:
        return f"unknown variable {variable!r} (known: {', '.join(VARIABLES)})"
    if value < 0:
        return f"{variable} must be ≥ 0"
    if variable == "alt_media_fraction" and value > 1:
        return "alt_media_fraction must be ≤ 1"
    if variable in VOLUMES and capacity_ml is not None and value > capacity_ml:
        return f"{variable} must be ≤ the vessel's capacity, {capacity_ml:g} mL"
    return None


class BioreactorStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def values(self, experiment: str, config: configparser.ConfigParser) -> dict[str, float]:
        def select(connection: sqlite3.Connection) -> dict[str, float]:
            rows = connection.execute(
                "SELECT variable, value FROM bioreactor WHERE experiment = ?", (experiment,)
            ).fetchall()
            return {row["variable"]: float(row["value"]) for row in rows}

        stored = await self._db.read(select)
        defaults = {
            variable: float(config.get("bioreactor", key, fallback="0") or 0)
            for variable, key in VARIABLES.items()
        }
        return {**defaults, **stored}

    async def update(self, experiment: str, values: dict[str, float], now: datetime) -> None:
        def upsert(connection: sqlite3.Connection) -> None:
            connection.executemany(
                "INSERT INTO bioreactor (experiment, variable, value, updated_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (experiment, variable) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                [(experiment, k, v, format_timestamp(now)) for k, v in values.items()],
            )

        await self._db.write(upsert)
