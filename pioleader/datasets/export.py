"""The export itself: datasets streamed from SQLite into CSV files inside one zip.

It runs on a worker thread with its own read-only connection, writes through a small buffer
(rows are fetched and written a few thousand at a time, so memory stays bounded whatever the
size of the experiment), builds the zip under a ``.tmp`` name and renames it only when
complete, so that a failed export (a full disk, say) leaves no partial file behind.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pioleader.datasets.catalog import DatasetDefinition

MIN_FREE_BYTES = 64 * 1024 * 1024
FETCH_ROWS = 10_000
Report = Callable[[dict[str, Any]], None]
# Opens the file an export is written to. The file system is an edge we do not own: tests give
# one that fills up part-way, as a real disk does.
Opener = Callable[[Path], BinaryIO]


def open_for_writing(path: Path) -> BinaryIO:
    return path.open("wb")


class ExportFailed(Exception):
    """The export could not be completed; the message says why and what to do.

    ``disk`` is true when the cause is a lack of space rather than a bad definition.
    """

    def __init__(self, message: str, *, disk: bool = False) -> None:
        super().__init__(message)
        self.disk = disk


@dataclass(frozen=True)
class ExportRequest:
    datasets: list[DatasetDefinition]
    experiments: list[str]  # empty: every experiment
    partition_by_experiment: bool
    partition_by_unit: bool
    start: str | None = None  # UTC, stored format; inclusive
    end: str | None = None


@dataclass
class ExportSummary:
    filename: str
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _safe(part: str) -> str:
    """A piece of a file name: spaces to underscores, nothing that names a folder."""
    return re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", part.replace(" ", "_"))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Exporter:
    def __init__(
        self,
        database: Path,
        exports_dir: Path,
        *,
        min_free_bytes: int = MIN_FREE_BYTES,
        opener: Opener = open_for_writing,
    ):
        self._database = database
        self._exports_dir = exports_dir
        self._min_free_bytes = min_free_bytes
        self._open = opener

    def export(self, request: ExportRequest, filename: str, report: Report) -> ExportSummary:
        self._exports_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self._exports_dir).free
        if free < self._min_free_bytes:
            raise ExportFailed(
                f"Only {free // 2**20} MB free where exports are written; at least "
                f"{self._min_free_bytes // 2**20} MB are needed.",
                disk=True,
            )
        final = self._exports_dir / filename
        partial = final.with_name(final.name + ".tmp")
        summary = ExportSummary(filename=filename)
        connection = sqlite3.connect(f"file:{self._database}?mode=ro", uri=True)
        try:
            connection.execute("PRAGMA query_only = 1")
            with (
                self._open(partial) as file,
                zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
            ):
                stamp = time.strftime("%Y%m%d%H%M%S")
                for dataset in request.datasets:
                    self._export_dataset(
                        connection, archive, dataset, request, stamp, summary, report
                    )
                archive.writestr(
                    "manifest.json", json.dumps(self._manifest(request, summary), indent=2)
                )
            os.replace(partial, final)
        except OSError as error:
            partial.unlink(missing_ok=True)
            if error.errno == errno.ENOSPC:
                raise ExportFailed(
                    "The disk filled up during the export; nothing was kept. Free some space "
                    "(old exports, backups) or export less (one experiment, a time window).",
                    disk=True,
                ) from error
            raise
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            connection.close()
        return summary

    def remove_old(self, older_than_seconds: float) -> list[str]:
        """Delete finished exports older than the retention.

        Partial files are left alone: they belong to exports running now (a failed export
        removes its own); those of a leader that was killed go at the next start-up.
        """
        cutoff = time.time() - older_than_seconds
        return self._remove(lambda path: path.suffix == ".zip" and path.stat().st_mtime < cutoff)

    def remove_partials(self) -> list[str]:
        """Delete what exports cut off by a kill or a crash left; call it before any export
        of this process starts."""
        return self._remove(lambda path: path.name.endswith(".zip.tmp"))

    def _remove(self, doomed: Callable[[Path], bool]) -> list[str]:
        if not self._exports_dir.is_dir():
            return []
        removed = []
        for path in self._exports_dir.iterdir():
            if doomed(path):
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed

    # -- internals -----------------------------------------------------------------------------

    def _export_dataset(
        self,
        connection: sqlite3.Connection,
        archive: zipfile.ZipFile,
        dataset: DatasetDefinition,
        request: ExportRequest,
        stamp: str,
        summary: ExportSummary,
        report: Report,
    ) -> None:
        columns = self._columns(connection, dataset)
        summary.rows[dataset.dataset_name] = 0
        for experiment, unit in self._partitions(connection, dataset, request):
            select, params = self._select(dataset, request, columns, experiment, unit)
            cursor = connection.execute(select, params)
            first = cursor.fetchmany(FETCH_ROWS)
            if not first:
                continue
            name = (
                f"{dataset.dataset_name}/{dataset.dataset_name}-"
                f"{_safe(experiment or 'all_experiments')}-{_safe(unit or 'all_units')}-{stamp}.csv"
            )
            with archive.open(name, "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                writer.writerow([column[0] for column in cursor.description])
                written = 0
                for rows in self._chunks(first, cursor):
                    writer.writerows(rows)
                    written += len(rows)
                    summary.rows[dataset.dataset_name] += len(rows)
                    if written % (FETCH_ROWS * 20) == 0:
                        report(self._progress(dataset, summary))
                text.flush()
                text.detach()
            summary.files.append(name)
            report(self._progress(dataset, summary))

    @staticmethod
    def _chunks(first: list[Any], cursor: sqlite3.Cursor) -> Iterator[list[Any]]:
        rows = first
        while rows:
            yield rows
            rows = cursor.fetchmany(FETCH_ROWS)

    @staticmethod
    def _progress(dataset: DatasetDefinition, summary: ExportSummary) -> dict[str, Any]:
        return {
            "dataset": dataset.dataset_name,
            "rows_written": sum(summary.rows.values()),
            "files_written": len(summary.files),
        }

    @staticmethod
    def _columns(connection: sqlite3.Connection, dataset: DatasetDefinition) -> list[str]:
        try:
            cursor = connection.execute(f"SELECT * FROM {dataset.source_sql} LIMIT 0")  # noqa: S608
        except sqlite3.Error as error:
            raise ExportFailed(
                f"Dataset {dataset.dataset_name!r} cannot be read: {error}."
            ) from error
        columns = [column[0] for column in cursor.description]
        needed = set(dataset.timestamp_columns) | (
            {dataset.default_order_by} if dataset.default_order_by else set()
        )
        needed |= {"experiment"} if dataset.has_experiment else set()
        needed |= {"pioreactor_unit"} if dataset.has_unit else set()
        missing = sorted(needed - set(columns))
        if missing:
            raise ExportFailed(
                f"Dataset {dataset.dataset_name!r} lacks the column(s) {', '.join(missing)} "
                "its definition names."
            )
        return columns

    def _partitions(
        self,
        connection: sqlite3.Connection,
        dataset: DatasetDefinition,
        request: ExportRequest,
    ) -> list[tuple[str | None, str | None]]:
        experiments: list[str | None] = [None]
        if dataset.has_experiment and request.partition_by_experiment:
            experiments = list(request.experiments) or [
                row[0]
                for row in connection.execute(
                    f"SELECT DISTINCT experiment FROM {dataset.source_sql} ORDER BY 1"  # noqa: S608
                )
            ]
        by_unit = dataset.has_unit and (
            request.partition_by_unit or dataset.always_partition_by_unit
        )
        partitions: list[tuple[str | None, str | None]] = []
        for experiment in experiments:
            if not by_unit:
                partitions.append((experiment, None))
                continue
            where, params = self._experiment_filter(dataset, request, experiment)
            units = connection.execute(
                f"SELECT DISTINCT pioreactor_unit FROM {dataset.source_sql} AS t"  # noqa: S608
                f" {'WHERE ' + where if where else ''} ORDER BY 1",
                params,
            ).fetchall()
            partitions += [(experiment, row[0]) for row in units]
        return partitions

    @staticmethod
    def _experiment_filter(
        dataset: DatasetDefinition, request: ExportRequest, experiment: str | None
    ) -> tuple[str, list[Any]]:
        if not dataset.has_experiment:
            return "", []
        if experiment is not None:
            return "t.experiment = ?", [experiment]
        if request.experiments:
            marks = ", ".join("?" for _ in request.experiments)
            return f"t.experiment IN ({marks})", list(request.experiments)
        return "", []

    def _select(
        self,
        dataset: DatasetDefinition,
        request: ExportRequest,
        columns: list[str],
        experiment: str | None,
        unit: str | None,
    ) -> tuple[str, list[Any]]:
        where, params = self._experiment_filter(dataset, request, experiment)
        conditions = [where] if where else []
        if unit is not None:
            conditions.append("t.pioreactor_unit = ?")
            params.append(unit)
        order = dataset.default_order_by
        if order and request.start:
            conditions.append(f"t.{_quoted(order)} >= ?")
            params.append(request.start)
        if order and request.end:
            conditions.append(f"t.{_quoted(order)} <= ?")
            params.append(request.end)
        extra = [
            # Local time of the leader, computed by SQLite (fast), next to the UTC column.
            f"strftime('%Y-%m-%dT%H:%M:%f', t.{_quoted(col)}, 'localtime') AS "
            f"{_quoted(col + '_localtime')}"
            for col in dataset.timestamp_columns
        ]
        join = ""
        if dataset.has_experiment and order and dataset.table != "experiments":
            if experiment is not None:
                # One experiment: its creation time is a constant, not a join per row.
                start = "(SELECT julianday(created_at) FROM experiments WHERE experiment = ?)"
                extra.append(
                    f"ROUND((julianday(t.{_quoted(order)}) - {start}) * 24, 4)"
                    " AS hours_since_experiment_created"
                )
                params = [experiment, *params]
            else:
                extra.append(
                    f"ROUND((julianday(t.{_quoted(order)}) - julianday(e.created_at)) * 24, 4)"
                    " AS hours_since_experiment_created"
                )
                join = " LEFT JOIN experiments AS e ON e.experiment = t.experiment"
        selected = ", ".join([f"t.{_quoted(c)}" for c in columns] + extra)
        sql = f"SELECT {selected} FROM {dataset.source_sql} AS t{join}"  # noqa: S608
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        if order:
            sql += f" ORDER BY t.{_quoted(order)}"
        return sql, params

    @staticmethod
    def _manifest(request: ExportRequest, summary: ExportSummary) -> dict[str, Any]:
        return {
            "exported_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "experiments": request.experiments or "all",
            "start_time_utc": request.start,
            "end_time_utc": request.end,
            "timestamps": "UTC (…Z); *_localtime columns are in the leader's local time zone",
            "datasets": {
                name: {
                    "rows": rows,
                    "files": [f for f in summary.files if f.startswith(name + "/")],
                }
                for name, rows in summary.rows.items()
            },
        }
