"""SQL for the time-series charts: deterministic downsampling that never reads every row.

Upstream (behaviour §4) returns a series whole when the window (now − lookback, now] holds at
most ``target_points`` rows, and otherwise spreads ``target_points`` instants between its first
and last timestamps, each taking the first row at or after it; it reads the whole window to do
so, which on a two-week experiment is hundreds of thousands of rows per series (user-needs §1:
charts are slow). Here (``series_points``): the same whole series and the same first and last
rows, and in between the first row of each bucket of one round width aligned to the epoch —
even in time, at most ``target_points`` points, and, unlike instants that move with every new
reading, the same points for the same data, so a bucket's point is found once and then kept in
memory (``cache.py``). Finding is an index seek on ``(experiment, pioreactor_unit, [channel,]
timestamp)``:

* series are found by skip-scan (``MIN(pioreactor_unit) … > previous``), one seek per unit;
* "more than target_points rows?" counts at most ``target_points + 1`` index entries;
* the first and last rows are one seek each;
* the buckets are generated in SQL (a recursive CTE) and each finds its row with one seek;
* SQLite renders the points as JSON, so Python never builds an object per point.

So a request costs O(series · log N) once its points are kept, and O(series · target_points
· log N) the first time, whatever the experiment's length.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pioleader.api.timeseries.cache import Arrivals, SeriesCache, SeriesKey
from pioleader.api.timeseries.models import RenderedSeries, Source
from pioleader.clock import format_timestamp, parse_timestamp
from pioleader.db import Database

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


# Bucket widths, in ms: round numbers of (milli)seconds, minutes, hours and days, so that the
# same width (and so the same kept points) serves a window that grows by a few seconds.
_WIDTHS_MS: tuple[int, ...] = (
    *(m * 10**e for e in range(3) for m in (1, 2, 5)),
    *(s * 1000 for s in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 45)),
    *(int(m * 60_000) for m in (1, 1.5, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 45)),
    *(int(h * 3_600_000) for h in (1, 1.5, 2, 3, 4, 6, 8, 12, 18)),
)
_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Infinite values (SQLite stores no NaN) would render as the invalid JSON ``Inf``: null instead.
_POINT = (
    "json_object('x', timestamp, 'y',"
    " CASE WHEN abs({column}) <= 1.7976931348623157e308 THEN round({column}, :digits) END)"
)
_STAMP = "strftime('%Y-%m-%dT%H:%M:%fZ', {ms} / 1000.0, 'unixepoch')"


def _to_ms(timestamp: str) -> int:
    """Whole milliseconds since the epoch, exactly (float seconds × 1000 can be 1 ms short)."""
    return (parse_timestamp(timestamp) - _EPOCH) // timedelta(milliseconds=1)


def bucket_of(timestamp: str, width_ms: int) -> int:
    return _to_ms(timestamp) // width_ms


def bucket_width(span_ms: int, target_points: int) -> int:
    """The narrowest round width that cuts ``span_ms`` into at most ``target_points - 3``
    widths: with the window's first and last rows and the partial buckets at both ends, the
    series then has at most ``target_points`` points. Needs ``target_points >= 4``."""
    needed = span_ms / (target_points - 3)
    for width in _WIDTHS_MS:
        if width >= needed:
            return width
    width = _DAY_MS
    while width < needed:
        width *= 2
    return width


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
            "digits": source.digits,
        }
        point = _POINT.format(column=column)
        in_window = f"{where} AND timestamp > :start AND timestamp <= :end"
        # noqa: S608 on each: table and column come from SOURCES or were checked against the
        # schema by TimeSeriesStore.fallback_source; every value is a bound parameter.
        self.oldest = (
            f"SELECT timestamp, {point} AS point FROM {table}"  # noqa: S608
            f" WHERE {in_window} ORDER BY timestamp LIMIT 1"
        )
        self.newest = (
            f"SELECT timestamp, {point} AS point FROM {table}"  # noqa: S608
            f" WHERE {in_window} ORDER BY timestamp DESC LIMIT 1"
        )
        # The (n+1)-th newest row: there are more than n rows exactly when it exists.
        self.beyond_n = (
            f"SELECT timestamp FROM {table}"  # noqa: S608
            f" WHERE {in_window} ORDER BY timestamp DESC LIMIT 1 OFFSET :n"
        )
        self.all_rows = (
            f"SELECT group_concat({point}) AS points FROM (SELECT * FROM {table}"  # noqa: S608
            f" WHERE {in_window} ORDER BY timestamp)"
        )
        # The point of each bucket n in [:first_bucket, :end_bucket): its first row, by one
        # index seek; NULL when the bucket is empty.
        self.buckets = (
            "WITH RECURSIVE bucket(n) AS ("  # noqa: S608
            "  SELECT :first_bucket WHERE :first_bucket < :end_bucket"
            "  UNION ALL SELECT n + 1 FROM bucket WHERE n + 1 < :end_bucket"
            f") SELECT (SELECT {point} FROM {table}"
            f" WHERE {where}"
            f" AND timestamp >= {_STAMP.format(ms='n * :width')}"
            f" AND timestamp < {_STAMP.format(ms='(n + 1) * :width')}"
            " ORDER BY timestamp LIMIT 1) AS point FROM bucket"
        )


def _arrivals(connection: sqlite3.Connection, table: str, cache: SeriesCache) -> int:
    """Tell the cache what arrived in ``table`` since its last look; the largest rowid."""
    largest = connection.execute(
        f"SELECT COALESCE(MAX(rowid), 0) AS largest FROM {table}"  # noqa: S608 - checked Source
    ).fetchone()["largest"]
    seen = cache.seen(table)
    earliest: dict[tuple[str, str], str] = {}
    if seen is not None and largest > seen:
        earliest = {
            (str(row["experiment"]), str(row["pioreactor_unit"])): str(row["earliest"])
            for row in connection.execute(
                "SELECT experiment, pioreactor_unit, MIN(timestamp) AS earliest"  # noqa: S608
                f" FROM {table} WHERE rowid > ? GROUP BY experiment, pioreactor_unit",
                (seen,),
            )
        }
    cache.account(Arrivals(table, int(largest), earliest), bucket_of)
    return int(largest)


def _generation(connection: sqlite3.Connection, experiment: str) -> str:
    row = connection.execute(
        "SELECT created_at FROM experiments WHERE experiment = ?", (experiment,)
    ).fetchone()
    return "" if row is None else str(row["created_at"])


def _more_rows_than(
    connection: sqlite3.Connection,
    query: _SeriesQuery,
    cache: SeriesCache,
    key: SeriesKey,
    n: int,
    span: tuple[str, str],
    as_of_rowid: int,
) -> bool:
    """Whether the window's rows (timestamps in ``span``, its first and last) number more
    than n. Counting walks up to n index entries, so the answer "more" is remembered with
    the newest n + 1 rows' span, which any later window of the series still holds while its
    first row is not newer than theirs."""
    if cache.known_more(key, n, *span):
        return True
    row = connection.execute(query.beyond_n, {**query.params, "n": n}).fetchone()
    if row is None:
        return False
    cache.note_more(key, n, (str(row["timestamp"]), span[1]), as_of_rowid)
    return True


def _bucket_points(
    connection: sqlite3.Connection,
    query: _SeriesQuery,
    cache: SeriesCache,
    key: SeriesKey,
    width: int,
    first: int,
    end: int,
    as_of_rowid: int,
) -> list[str | None]:
    """The points of buckets [first, end): kept ones from the cache, the others found (and
    kept)."""

    def find(lo: int, hi: int) -> list[str | None]:
        if lo >= hi:
            return []
        params = {**query.params, "first_bucket": lo, "end_bucket": hi, "width": width}
        found = [row["point"] for row in connection.execute(query.buckets, params)]
        cache.keep((key, width), lo, found, as_of_rowid)
        return found

    start, stop, kept = cache.get((key, width), first, end)
    return find(first, start) + kept + find(stop, end)


def series_points(
    connection: sqlite3.Connection,
    source: Source,
    experiment: str,
    series: _Series,
    window: Window,
    target_points: int,
    cache: SeriesCache,
) -> list[str]:
    """At most ``target_points`` points (JSON texts) of one series, oldest first.

    * ``target_points == 1``: the newest row of the window.
    * No more rows than ``target_points``: every row.
    * Otherwise: the window's first row; then, for the buckets of one round width aligned to
      the epoch (``bucket_width``) from the one after the first row's to the last row's, the
      first row of each non-empty bucket; then the window's last row. Even in time, and the
      same points for the same data whatever the window, so they are kept (``cache.py``).
    """
    query = _SeriesQuery(source, experiment, series, window)
    params = query.params
    newest = connection.execute(query.newest, params).fetchone()
    if newest is None:
        return []
    if target_points == 1:
        return [str(newest["point"])]
    oldest = connection.execute(query.oldest, params).fetchone()
    as_of_rowid = _arrivals(connection, source.table, cache)
    key = SeriesKey(
        source=source,
        experiment=experiment,
        generation=_generation(connection, experiment),
        unit=series.unit,
        channel=series.channel,
    )
    span = (str(oldest["timestamp"]), str(newest["timestamp"]))
    if not _more_rows_than(connection, query, cache, key, target_points, span, as_of_rowid):
        return [connection.execute(query.all_rows, params).fetchone()["points"]]
    ends = [str(oldest["point"]), str(newest["point"])]
    first_ms, last_ms = _to_ms(span[0]), _to_ms(span[1])
    if target_points < 4 or last_ms == first_ms:
        return ends
    width = bucket_width(last_ms - first_ms, target_points)
    middle = _bucket_points(
        connection,
        query,
        cache,
        key,
        width,
        first_ms // width + 1,
        last_ms // width + 1,
        as_of_rowid,
    )
    points = [ends[0], *filter(None, middle)]
    if points[-1] != ends[1]:
        points.append(ends[1])
    return points


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
    def __init__(self, db: Database, cache: SeriesCache, *, parallel: int = 2) -> None:
        self._db = db
        self._cache = cache
        # Series are read in this many groups at once: enough to use the machine's cores when
        # points must be found, few enough that kept points cost little in thread hand-offs.
        self._parallel = max(parallel, 1)
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

        The series are read in a few groups at once: SQLite releases the GIL while it
        searches, so reader threads share the work when points must be found.
        """
        window = Window.ending(now, lookback_hours)
        keys = await self._db.read(lambda c: _series_keys(c, source, experiment, unit))

        def points_of(group: list[_Series]) -> Callable[[sqlite3.Connection], list[list[str]]]:
            def read(connection: sqlite3.Connection) -> list[list[str]]:
                return [
                    series_points(
                        connection, source, experiment, key, window, target_points, self._cache
                    )
                    for key in group
                ]

            return read

        size = max(-(-len(keys) // self._parallel), 1)  # ceiling division
        groups = [keys[i : i + size] for i in range(0, len(keys), size)]
        found = [
            points
            for group_points in await asyncio.gather(
                *(self._db.read(points_of(group)) for group in groups)
            )
            for points in group_points
        ]
        drawn = [(key.label, points) for key, points in zip(keys, found, strict=True) if points]
        return RenderedSeries(
            series=[label for label, _ in drawn],
            data=["[" + ",".join(points) + "]" for _, points in drawn],
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
