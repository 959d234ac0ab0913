"""SQL for the time-series charts: deterministic downsampling that never reads every row.

Behaviour §4 (HEAD algorithm): a series with at most ``target_points`` rows in the window
(now − lookback, now] is returned whole; otherwise ``target_points`` instants are spread evenly
between its first and last timestamps in the window, and each instant takes the first row at
or after it. Upstream reads the whole window and samples in Python; on a two-week experiment
that is hundreds of thousands of rows per series (user-needs §1: charts are slow). Here every
step is an index seek on ``(experiment, pioreactor_unit, [channel,] timestamp)``:

* series are found by skip-scan (``MIN(pioreactor_unit) … > previous``), one seek per unit;
* "more than target_points rows?" counts at most ``target_points + 1`` index entries;
* first and last timestamps are ``MIN``/``MAX`` seeks;
* the instants are generated in SQL (a recursive CTE) and each picks its row with one seek;
* SQLite renders the points as JSON, so Python never builds an object per point.

So a request costs O(series · target_points · log N), whatever the experiment's length.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pioleader.api.timeseries.models import RenderedSeries, Source
from pioleader.clock import format_timestamp, parse_timestamp
from pioleader.db import Database, Row

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REQUIRED_COLUMNS = frozenset({"experiment", "pioreactor_unit", "timestamp"})
# SQLite's rules for numeric column affinity (https://www.sqlite.org/datatype3.html §3.1).
_NUMERIC_TYPES = ("INT", "REAL", "FLOA", "DOUB", "NUM", "DEC", "BOOL")


class InvalidSource(Exception):
    """The fallback route named a table or column that cannot be charted."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Window:
    """Timestamps as stored strings: rows with ``start < timestamp <= end``."""

    start: str
    end: str

    @classmethod
    def ending(cls, now: datetime, lookback_hours: float) -> Window:
        try:
            start = format_timestamp(now - timedelta(hours=lookback_hours))
        except OverflowError:
            start = ""  # further back than datetime reaches: everything
        return cls(start=start, end=format_timestamp(now))


@dataclass(frozen=True)
class _Series:
    unit: str
    channel: int | None

    @property
    def label(self) -> str:
        return self.unit if self.channel is None else f"{self.unit}-{self.channel}"


def _series_keys(
    connection: sqlite3.Connection, source: Source, experiment: str, unit: str | None
) -> list[_Series]:
    """Units (and channels) present for the experiment, by skip-scan over the index."""
    table = source.table
    units: list[str] = []
    if unit is not None:
        units = [unit]
    else:
        previous: str | None = None
        while True:
            row = connection.execute(
                f"SELECT MIN(pioreactor_unit) AS next FROM {table}"  # noqa: S608 - see Source
                " WHERE experiment = ? AND pioreactor_unit > ?",
                (experiment, "" if previous is None else previous),
            ).fetchone()
            if row is None or row["next"] is None:
                break
            previous = str(row["next"])
            units.append(previous)
    if not source.per_channel:
        return [_Series(name, None) for name in units]
    keys: list[_Series] = []
    for name in units:
        channel = -1
        while True:
            row = connection.execute(
                f"SELECT MIN(channel) AS next FROM {table}"  # noqa: S608 - see Source
                " WHERE experiment = ? AND pioreactor_unit = ? AND channel > ?",
                (experiment, name, channel),
            ).fetchone()
            if row is None or row["next"] is None:
                break
            channel = int(row["next"])
            keys.append(_Series(name, channel))
    return keys


# The instants of a downsampled series: its first timestamp, ``inner`` evenly spaced ones (in
# whole milliseconds, integer arithmetic, so the spacing is deterministic), and its last.
_INSTANTS = (
    "WITH RECURSIVE seq(n) AS ("
    "  SELECT 1 WHERE :inner >= 1"
    "  UNION ALL SELECT n + 1 FROM seq WHERE n < :inner"
    "), instants(at) AS ("
    "  SELECT :first"
    "  UNION ALL SELECT strftime('%Y-%m-%dT%H:%M:%fZ',"
    "    (:first_ms + n * :span_ms / :intervals) / 1000.0, 'unixepoch') FROM seq"
    "  UNION ALL SELECT :last"
    ")"
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_ms(timestamp: str) -> int:
    """Whole milliseconds since the epoch, exactly (float seconds × 1000 can be 1 ms short)."""
    return (parse_timestamp(timestamp) - _EPOCH) // timedelta(milliseconds=1)


class _SeriesQuery:
    """The SQL of one series: identifiers from a checked ``Source``, values bound."""

    def __init__(self, source: Source, experiment: str, key: _Series, window: Window) -> None:
        table, column = source.table, source.column
        where = "experiment = :experiment AND pioreactor_unit = :unit"
        if key.channel is not None:
            where += " AND channel = :channel"
        if source.skip_nulls:
            where += f" AND {column} IS NOT NULL"
        self.params: dict[str, Any] = {
            "experiment": experiment,
            "unit": key.unit,
            "channel": key.channel,
            "start": window.start,
            "end": window.end,
        }
        in_window = f"{where} AND timestamp > :start AND timestamp <= :end"
        # noqa: S608 on each: table and column come from SOURCES or were checked against the
        # schema by TimeSeriesStore.fallback_source; every value is a bound parameter.
        self.newest = (
            f"SELECT timestamp AS x, {column} AS y FROM {table}"  # noqa: S608
            f" WHERE {in_window} ORDER BY timestamp DESC LIMIT 1"
        )
        self.count_upto = (
            f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table}"  # noqa: S608
            f" WHERE {in_window} LIMIT :limit)"
        )
        self.all_rows = (
            f"SELECT timestamp AS x, {column} AS y FROM {table}"  # noqa: S608
            f" WHERE {in_window} ORDER BY timestamp"
        )
        self.bounds = (
            f"SELECT (SELECT MIN(timestamp) FROM {table} WHERE {in_window}) AS first,"  # noqa: S608
            f" (SELECT MAX(timestamp) FROM {table} WHERE {in_window}) AS last"
        )
        # One pick per instant: the first row at or after it (and not after the last one);
        # ``rowid IN`` drops duplicate picks.
        self.picks = (
            _INSTANTS + f" SELECT timestamp AS x, {column} AS y FROM {table}"  # noqa: S608
            f" WHERE rowid IN (SELECT (SELECT rowid FROM {table}"
            f" WHERE {where} AND timestamp >= instants.at AND timestamp <= :last"
            " ORDER BY timestamp LIMIT 1) FROM instants)"
            " ORDER BY timestamp"
        )

    def rows(self, connection: sqlite3.Connection, sql: str, **extra: Any) -> list[Row]:
        rows: list[Row] = connection.execute(sql, {**self.params, **extra}).fetchall()
        return rows


def _selection(
    connection: sqlite3.Connection, query: _SeriesQuery, target_points: int
) -> tuple[str, dict[str, Any]]:
    """The statement selecting the series' points (``x``, ``y``), and its parameters."""
    if target_points == 1:
        return query.newest, query.params
    limit = {**query.params, "limit": target_points + 1}
    count = connection.execute(query.count_upto, limit).fetchone()["n"]
    if count <= target_points:
        return query.all_rows, query.params
    bounds = connection.execute(query.bounds, query.params).fetchone()
    first, last = str(bounds["first"]), str(bounds["last"])
    first_ms = _to_ms(first)
    return query.picks, {
        **query.params,
        "inner": target_points - 2,
        "first": first,
        "last": last,
        "first_ms": first_ms,
        "span_ms": max(_to_ms(last) - first_ms, 0),
        "intervals": target_points - 1,
    }


def downsample(
    connection: sqlite3.Connection,
    source: Source,
    experiment: str,
    key: _Series,
    window: Window,
    target_points: int,
) -> list[Row]:
    """At most ``target_points`` rows of one series, even in time, first and last kept."""
    sql, params = _selection(
        connection, _SeriesQuery(source, experiment, key, window), target_points
    )
    rows: list[Row] = connection.execute(sql, params).fetchall()
    return rows


def _series_json(
    connection: sqlite3.Connection,
    source: Source,
    experiment: str,
    key: _Series,
    window: Window,
    target_points: int,
) -> str:
    """The downsampled series as a JSON array of ``{"x", "y"}``, rounded, built by SQLite.

    Building ten thousand point objects in Python costs more than finding the points; SQLite
    renders them in C, and the response is assembled from the arrays as they are.
    """
    sql, params = _selection(
        connection, _SeriesQuery(source, experiment, key, window), target_points
    )
    row = connection.execute(
        "SELECT json_group_array(json_object('x', x, 'y', round(y, :digits))) AS points"  # noqa: S608
        f" FROM ({sql})",
        {**params, "digits": source.digits},
    ).fetchone()
    return str(row["points"])


def _table_columns(connection: sqlite3.Connection, table: str) -> dict[str, str] | None:
    """Column name → declared type of an ordinary (rowid) table; None for anything else."""
    listed = connection.execute(
        "SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", (table,)
    ).fetchone()
    if listed is None or listed["type"] != "table" or listed["wr"]:
        return None
    rows = connection.execute("SELECT name, type FROM pragma_table_info(?)", (table,)).fetchall()
    return {str(row["name"]): str(row["type"] or "").upper() for row in rows}


class TimeSeriesStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Table → columns. The schema changes only through migrations, which run before the
        # app serves; so a table's columns, once seen, stay valid. Misses are not cached.
        self._columns: dict[str, dict[str, str]] = {}

    async def series(
        self,
        source: Source,
        experiment: str,
        *,
        unit: str | None,
        now: datetime,
        lookback_hours: float,
        target_points: int,
    ) -> RenderedSeries:
        """One series per unit (per unit and channel), units ascending; ``unit`` narrows.

        The series are read in parallel, one read each: SQLite releases the GIL while it
        searches, so the reader threads share the work of a page's many series.
        """
        window = Window.ending(now, lookback_hours)
        keys = await self._db.read(lambda c: _series_keys(c, source, experiment, unit))
        arrays = await asyncio.gather(
            *(
                self._db.read(
                    functools.partial(
                        _series_json,
                        source=source,
                        experiment=experiment,
                        key=key,
                        window=window,
                        target_points=target_points,
                    )
                )
                for key in keys
            )
        )
        found = [
            (key.label, array) for key, array in zip(keys, arrays, strict=True) if array != "[]"
        ]
        return RenderedSeries(
            series=[label for label, _ in found], data=[array for _, array in found]
        )

    async def fallback_source(self, data_source: str, column: str) -> Source:
        """Check the fallback route's table and column against the schema.

        Upstream scrubs the names and lets SQLite fail; we allow only an existing table with
        experiment, pioreactor_unit and timestamp columns, and a numeric column of it, so that
        nothing unchecked reaches the SQL text and every failure is a 400 naming the field.
        """
        if not _IDENTIFIER.match(data_source) or data_source.lower().startswith("sqlite_"):
            raise InvalidSource("data_source", f"{data_source!r} is not a table name.")
        columns = self._columns.get(data_source)
        if columns is None:
            columns = await self._db.read(lambda c: _table_columns(c, data_source))
            if columns is None:
                raise InvalidSource("data_source", f"There is no table named {data_source!r}.")
            self._columns[data_source] = columns
        if not columns.keys() >= _REQUIRED_COLUMNS:
            raise InvalidSource(
                "data_source",
                f"Table {data_source!r} lacks experiment, pioreactor_unit or timestamp columns.",
            )
        if column not in columns or column in _REQUIRED_COLUMNS:
            raise InvalidSource("column", f"Table {data_source!r} has no value column {column!r}.")
        if not any(kind in columns[column] for kind in _NUMERIC_TYPES):
            raise InvalidSource(
                "column", f"Column {column!r} of {data_source!r} does not hold numbers."
            )
        return Source(data_source, column, skip_nulls=True)
