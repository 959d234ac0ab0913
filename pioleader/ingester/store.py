"""The ingester's SQL: batched inserts and its one-row status table.

A batch is written with one ``executemany`` per table inside the caller's transaction (the
``Database`` writer's), which is what makes thousands of rows a second cheap. A row the
database refuses (a CHECK or NOT NULL the parser did not foresee) must not take its batch down
with it, so each table's ``executemany`` runs inside a savepoint; if it fails, that table's rows
are retried one at a time and only the refused ones are dropped and reported.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from pioleader.ingester.topics import Row, Table

# Errors that are the row's fault. Others (locked, I/O, disk full) fail the whole transaction,
# and the service retries the batch rather than drop it.
_ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError)


@dataclass
class BatchResult:
    rows: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (table, reason)


def write_batch(connection: sqlite3.Connection, batch: dict[Table, list[Row]]) -> BatchResult:
    """Insert every row of ``batch``; the caller owns the transaction."""
    result = BatchResult()
    for table, rows in batch.items():
        written = _insert_all(connection, table, rows, result)
        if written:
            result.rows[table.name] = result.rows.get(table.name, 0) + written
    return result


def _insert_all(
    connection: sqlite3.Connection, table: Table, rows: list[Row], result: BatchResult
) -> int:
    sql = table.insert_sql
    connection.execute("SAVEPOINT ingest_table")
    try:
        connection.executemany(sql, rows)
    except _ROW_ERRORS:
        connection.execute("ROLLBACK TO ingest_table")
        connection.execute("RELEASE ingest_table")
        return _insert_one_by_one(connection, table, rows, result)
    connection.execute("RELEASE ingest_table")
    return len(rows)


def _insert_one_by_one(
    connection: sqlite3.Connection, table: Table, rows: list[Row], result: BatchResult
) -> int:
    sql = table.insert_sql
    written = 0
    for row in rows:
        connection.execute("SAVEPOINT ingest_row")
        try:
            connection.execute(sql, row)
        except _ROW_ERRORS as error:
            connection.execute("ROLLBACK TO ingest_row")
            result.refused.append((table.name, f"{error}: {row!r}"))
        else:
            written += 1
        connection.execute("RELEASE ingest_row")
    return written


@dataclass(frozen=True)
class Status:
    """The ``ingester_status`` row."""

    started_at: str
    updated_at: str
    messages_received: int
    messages_ignored: int
    errors: int
    rows_written: int
    rows_by_table: dict[str, int]
    pending: int
    lag_seconds: float
    last_message_at: str | None
    connected: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "messages_received": self.messages_received,
            "messages_ignored": self.messages_ignored,
            "errors": self.errors,
            "rows_written": self.rows_written,
            "rows_by_table": dict(sorted(self.rows_by_table.items())),
            "pending": self.pending,
            "lag_seconds": self.lag_seconds,
            "last_message_at": self.last_message_at,
            "connected": self.connected,
        }


def save_status(connection: sqlite3.Connection, status: Status) -> None:
    connection.execute(
        """
        INSERT INTO ingester_status (
            id, started_at, updated_at, messages_received, messages_ignored, errors,
            rows_written, rows_by_table, pending, lag_seconds, last_message_at, connected
        ) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            started_at = excluded.started_at,
            updated_at = excluded.updated_at,
            messages_received = excluded.messages_received,
            messages_ignored = excluded.messages_ignored,
            errors = excluded.errors,
            rows_written = excluded.rows_written,
            rows_by_table = excluded.rows_by_table,
            pending = excluded.pending,
            lag_seconds = excluded.lag_seconds,
            last_message_at = excluded.last_message_at,
            connected = excluded.connected
        """,
        (
            status.started_at,
            status.updated_at,
            status.messages_received,
            status.messages_ignored,
            status.errors,
            status.rows_written,
            json.dumps(dict(sorted(status.rows_by_table.items()))),
            status.pending,
            status.lag_seconds,
            status.last_message_at,
            int(status.connected),
        ),
    )


def load_status(connection: sqlite3.Connection) -> Status | None:
    row = connection.execute("SELECT * FROM ingester_status WHERE id = 1").fetchone()
    if row is None:
        return None
    return Status(
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        messages_received=row["messages_received"],
        messages_ignored=row["messages_ignored"],
        errors=row["errors"],
        rows_written=row["rows_written"],
        rows_by_table=json.loads(row["rows_by_table"]),
        pending=row["pending"],
        lag_seconds=row["lag_seconds"],
        last_message_at=row["last_message_at"],
        connected=bool(row["connected"]),
    )
