"""SQL for reading logs: every endpoint is one filter over the same projection (§3.5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pioleader.api.logs.models import PAGE_SIZE, RECENT_LIMIT, LogEntry
from pioleader.clock import format_timestamp
from pioleader.db import Database, Row

BROADCAST = "$broadcast"
SYSTEM_EXPERIMENT = "$experiment"
RECENT = timedelta(hours=24)

_SELECT = (
    "SELECT timestamp, level, pioreactor_unit, message, task, source, experiment FROM logs AS l"
)
# The window of recent logs: the last 24 hours, but not before the experiment was created.
_RECENT_START = (
    "MAX(:day_ago, COALESCE((SELECT created_at FROM experiments WHERE experiment = :experiment),"
    " :day_ago))"
)
# The log falls in one of the unit's assignment intervals to the experiment; one stamped up to
# 5 seconds after the unit was unassigned still belongs to it (Matches upstream, §3.5).
_DURING_ASSIGNMENT = (
    "EXISTS (SELECT 1 FROM experiment_worker_assignments_history AS h"
    " WHERE h.pioreactor_unit = :unit AND h.experiment = :experiment"
    "   AND h.assigned_at <= l.timestamp"
    "   AND l.timestamp <= strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(h.unassigned_at, :now),"
    "        '+5 seconds'))"
)


def _select(
    connection: sqlite3.Connection,
    where: Sequence[str],
    params: dict[str, Any],
    levels: Sequence[str],
    limit: int,
    offset: int,
) -> list[Row]:
    level_names = {f"level{i}": level for i, level in enumerate(levels)}
    conditions = [*where, f"level IN ({', '.join(':' + name for name in level_names)})"]
    rows: list[Row] = connection.execute(
        f"{_SELECT} WHERE {' AND '.join(conditions)}"  # noqa: S608 - fixed fragments only
        " ORDER BY timestamp DESC LIMIT :limit OFFSET :offset",
        {**params, **level_names, "limit": limit, "offset": offset},
    ).fetchall()
    return rows


class LogStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _read(
        self,
        where: Sequence[str],
        params: dict[str, Any],
        levels: Sequence[str],
        *,
        limit: int = PAGE_SIZE,
        skip: int = 0,
    ) -> list[LogEntry]:
        rows = await self._db.read(lambda c: _select(c, where, params, levels, limit, skip))
        return [LogEntry(**row) for row in rows]

    async def everything(self, levels: Sequence[str], skip: int) -> list[LogEntry]:
        return await self._read([], {}, levels, skip=skip)

    async def of_experiment(
        self, experiment: str, levels: Sequence[str], skip: int
    ) -> list[LogEntry]:
        return await self._read(
            ["experiment = :experiment"], {"experiment": experiment}, levels, skip=skip
        )

    async def recent(self, experiment: str, levels: Sequence[str], now: datetime) -> list[LogEntry]:
        return await self._read(
            ["experiment = :experiment", f"timestamp >= {_RECENT_START}"],
            {"experiment": experiment, "day_ago": format_timestamp(now - RECENT)},
            levels,
            limit=RECENT_LIMIT,
        )

    async def recent_of_unit(
        self, unit: str, experiment: str, levels: Sequence[str], now: datetime
    ) -> list[LogEntry]:
        """The unit's (and broadcast) logs of the experiment and of the system."""
        return await self._read(
            [
                "experiment IN (:experiment, :system)",
                "pioreactor_unit IN (:unit, :broadcast)",
                f"timestamp >= {_RECENT_START}",
            ],
            {
                "experiment": experiment,
                "system": SYSTEM_EXPERIMENT,
                "unit": unit,
                "broadcast": BROADCAST,
                "day_ago": format_timestamp(now - RECENT),
            },
            levels,
            limit=RECENT_LIMIT,
        )

    async def of_unit_in_experiment(
        self, unit: str, experiment: str, levels: Sequence[str], skip: int, now: datetime
    ) -> list[LogEntry]:
        """Logs of the experiment from the unit (or broadcast) while it was assigned to it."""
        return await self._read(
            [
                "experiment = :experiment",
                "pioreactor_unit IN (:unit, :broadcast)",
                _DURING_ASSIGNMENT,
            ],
            {
                "experiment": experiment,
                "unit": unit,
                "broadcast": BROADCAST,
                "now": format_timestamp(now),
            },
            levels,
            skip=skip,
        )

    async def of_unit(self, unit: str, levels: Sequence[str], skip: int) -> list[LogEntry]:
        return await self._read(
            ["pioreactor_unit IN (:unit, :broadcast)"],
            {"unit": unit, "broadcast": BROADCAST},
            levels,
            skip=skip,
        )

    async def system_of_unit(self, unit: str, levels: Sequence[str], skip: int) -> list[LogEntry]:
        return await self._read(
            ["experiment = :system", "pioreactor_unit IN (:unit, :broadcast)"],
            {"system": SYSTEM_EXPERIMENT, "unit": unit, "broadcast": BROADCAST},
            levels,
            skip=skip,
        )
