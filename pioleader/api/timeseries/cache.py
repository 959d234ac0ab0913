"""Chart points already found, kept in the leader's memory between requests.

A downsampled series is made of buckets of a fixed width aligned to the epoch (``store.py``),
and a bucket's point — the first row at or after its start — depends only on the rows inside
it. Once found, it stays right until a row arrives *inside* that bucket *before* its point,
which live data never does (readings arrive in time order) but an ingester catching up after
an outage, or an import, can. So every point found is kept, and kept points are dropped only
when such a row appears.

Rows are only ever inserted into the data tables, with increasing rowids, so "what arrived
since the last look" is the rowid range past the largest rowid seen; its smallest timestamp
per experiment and unit says which buckets it may have changed (``CacheCheck``). A largest
rowid that went *down* means rows were deleted (an experiment was deleted): that table's
points are all dropped.

Concurrency: requests read in their own snapshots on several threads. A snapshot older than
the newest check may not see rows that check accounted for, so what it finds is not kept
(``store`` passes the snapshot's largest rowid; ``keep`` compares).

Memory is bounded by a count of points across all series (least recently used first out);
a point is one short JSON text, about a hundred bytes with its bookkeeping.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from pioleader.api.timeseries.models import Source

# The index of the bucket of a given width (ms) that holds a timestamp.
BucketOf = Callable[[str, int], int]


@dataclass(frozen=True)
class SeriesKey:
    """One series. ``generation`` tells an experiment from a deleted one of the same name
    that was created again (its creation time); ``source`` carries how the points are selected
    and rendered (nulls skipped or not, rounding)."""

    source: Source
    experiment: str
    generation: str
    unit: str
    channel: int | None


_RunKey = tuple[SeriesKey, int]  # a series and a bucket width (ms)
_MAX_COUNTS = 10_000


@dataclass
class _Run:
    """Points of buckets ``first, first + 1, …``; None marks a bucket known to be empty."""

    first: int
    points: list[str | None] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.first + len(self.points)


@dataclass(frozen=True)
class Arrivals:
    """Rows that arrived in a table since the last look: the earliest timestamp per
    experiment and unit, and the table's largest rowid now."""

    table: str
    largest_rowid: int
    earliest: dict[tuple[str, str], str]


class SeriesCache:
    def __init__(self, max_points: int = 400_000) -> None:
        self.max_points = max_points
        self._runs: OrderedDict[_RunKey, _Run] = OrderedDict()
        self._points = 0
        self._seen: dict[str, int] = {}  # table → largest rowid accounted for
        # (series, n) → (from, to): more than n rows have timestamps in [from, to]. Rows are
        # only inserted, so this stays true, and true of any window holding [from, to].
        self._more: OrderedDict[tuple[SeriesKey, int], tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    # -- invalidation ---------------------------------------------------------------------------

    def seen(self, table: str) -> int | None:
        with self._lock:
            return self._seen.get(table)

    def account(self, arrivals: Arrivals, bucket_of: BucketOf) -> None:
        """Drop the points that rows arrived since the last look may have changed."""
        with self._lock:
            seen = self._seen.get(arrivals.table)
            if seen is not None and arrivals.largest_rowid <= seen:
                if arrivals.largest_rowid < seen:  # rows were deleted
                    self._drop(arrivals.table)
                    self._seen[arrivals.table] = arrivals.largest_rowid
                return
            self._seen[arrivals.table] = arrivals.largest_rowid
            for key, width in [k for k in self._runs if k[0].source.table == arrivals.table]:
                earliest = arrivals.earliest.get((key.experiment, key.unit))
                if earliest is not None:
                    self._truncate((key, width), bucket_of(earliest, width))

    # -- row counts -----------------------------------------------------------------------------

    def known_more(self, key: SeriesKey, n: int, first: str, last: str) -> bool:
        """Whether rows with timestamps in [first, last] are known to number more than n."""
        with self._lock:
            span = self._more.get((key, n))
            return span is not None and first <= span[0] and span[1] <= last

    def note_more(self, key: SeriesKey, n: int, span: tuple[str, str], as_of_rowid: int) -> None:
        """Remember that more than n rows have timestamps in ``span`` (inclusive)."""
        with self._lock:
            if as_of_rowid < self._seen.get(key.source.table, as_of_rowid):
                return
            self._more[(key, n)] = span
            self._more.move_to_end((key, n))
            while len(self._more) > _MAX_COUNTS:
                self._more.popitem(last=False)

    # -- points ---------------------------------------------------------------------------------

    def get(self, key: _RunKey, first: int, end: int) -> tuple[int, int, list[str | None]]:
        """The kept points of buckets in [first, end): ``(from, to, points)`` of the one
        contiguous run kept there (empty when none overlaps)."""
        with self._lock:
            run = self._runs.get(key)
            if run is None or run.end <= first or run.first >= end:
                return first, first, []
            self._runs.move_to_end(key)
            start, stop = max(first, run.first), min(end, run.end)
            return start, stop, run.points[start - run.first : stop - run.first]

    def keep(self, key: _RunKey, first: int, points: list[str | None], as_of_rowid: int) -> None:
        """Keep the points of buckets ``first, first + 1, …`` (of the width in ``key``) found
        in a snapshot whose table's largest rowid was ``as_of_rowid``; joined to the kept run
        when they touch."""
        if not points:
            return
        with self._lock:
            if as_of_rowid < self._seen.get(key[0].source.table, as_of_rowid):
                return  # an older snapshot than the last check: it may miss late rows
            run = self._runs.get(key)
            end = first + len(points)
            if run is not None and run.first <= end and first <= run.end:
                start = min(first, run.first)
                merged: list[str | None] = [None] * (max(end, run.end) - start)
                merged[run.first - start : run.end - start] = run.points
                merged[first - start : end - start] = points
                self._points += len(merged) - len(run.points)
                run.first, run.points = start, merged
            else:
                if run is not None:
                    self._points -= len(run.points)
                self._runs[key] = _Run(first, list(points))
                self._points += len(points)
            self._runs.move_to_end(key)
            while self._points > self.max_points and self._runs:
                _, evicted = self._runs.popitem(last=False)
                self._points -= len(evicted.points)

    def __len__(self) -> int:
        with self._lock:
            return self._points

    # -- internals (lock held) ------------------------------------------------------------------

    def _truncate(self, key: _RunKey, bucket: int) -> None:
        run = self._runs[key]
        if bucket >= run.end:
            return
        keep = max(bucket - run.first, 0)
        self._points -= len(run.points) - keep
        if keep == 0:
            del self._runs[key]
        else:
            del run.points[keep:]

    def _drop(self, table: str) -> None:
        for key in [k for k in self._runs if k[0].source.table == table]:
            self._points -= len(self._runs.pop(key).points)
        for counted in [k for k in self._more if k[0].source.table == table]:
            del self._more[counted]
