"""An SQLite database used from asyncio without ever blocking the event loop.

The design follows Datasette's: every write runs on one dedicated thread that owns the only
writing connection, inside ``BEGIN IMMEDIATE … COMMIT``, so writes are serialised and a
multi-statement change is atomic; reads run on a small thread pool, each thread with its own
``query_only`` connection, inside a read transaction so that a read sees one snapshot. WAL mode
lets readers proceed while the writer writes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pioleader.db.migrations import Migration, apply_migrations

logger = logging.getLogger("pioleader.db")

T = TypeVar("T")
Row = dict[str, Any]


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _base64_decode(text: str | bytes | None) -> str | None:
    """SQL function ``BASE64(text)``: decode base64 to UTF-8, as dataset queries expect."""
    if text is None:
        return None
    try:
        return base64.b64decode(text).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class Database:
    """One SQLite file: ``read(fn)`` and ``write(fn)`` run ``fn(connection)`` off the loop."""

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Migration] = (),
        readers: int = 4,
        busy_timeout_ms: int = 15_000,
        foreign_keys: bool = True,
    ) -> None:
        """``foreign_keys=False`` is for the MQTT ingester: like upstream's, it stores rows of
        experiments the ``experiments`` table does not (yet) know rather than lose them."""
        self.path = path
        self._foreign_keys = foreign_keys
        self._migrations = migrations
        self._busy_timeout_ms = busy_timeout_ms
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-write-{path.stem}")
        self._readers = ThreadPoolExecutor(
            max_workers=readers, thread_name_prefix=f"db-read-{path.stem}"
        )
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._open = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the file if needed and bring its schema up to date."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._run(self._writer, self._migrate)
        self._open = True

    async def close(self) -> None:
        self._open = False
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    # -- public API ----------------------------------------------------------------------------

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a read-only transaction on a reader thread."""
        return await self._run(self._readers, self._in_read_transaction, fn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one write transaction on the writer thread; roll back if it raises."""
        return await self._run(self._writer, self._in_write_transaction, fn)

    # -- internals -----------------------------------------------------------------------------

    async def _run(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, fn, *args)

    def _connect(self, *, read_only: bool) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        connection.row_factory = _dict_row
        connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        connection.execute(f"PRAGMA foreign_keys = {'ON' if self._foreign_keys else 'OFF'}")
        connection.execute("PRAGMA recursive_triggers = ON")
        connection.create_function("BASE64", 1, _base64_decode, deterministic=True)
        if read_only:
            connection.execute("PRAGMA query_only = 1")
        else:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _connection(self, *, read_only: bool) -> sqlite3.Connection:
        key = "reader" if read_only else "writer"
        connection: sqlite3.Connection | None = getattr(self._local, key, None)
        if connection is None:
            connection = self._connect(read_only=read_only)
            setattr(self._local, key, connection)
        return connection

    def _migrate(self) -> None:
        apply_migrations(self._connection(read_only=False), self._migrations)

    def _in_read_transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection(read_only=True)
        connection.execute("BEGIN")
        try:
            return fn(connection)
        finally:
            connection.execute("ROLLBACK")

    def _in_write_transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        connection = self._connection(read_only=False)
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = fn(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result
