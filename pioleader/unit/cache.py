"""A unit's persistent cache: small values a job keeps across runs, by cache name and key
(``od_normalization_mean`` → experiment → JSON), in the unit's registry database."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pioleader.clock import format_timestamp
from pioleader.db import Database


class PersistentCache:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, cache: str, key: str) -> str | None:
        def select(connection: sqlite3.Connection) -> str | None:
            row = connection.execute(
                "SELECT value FROM persistent_cache WHERE cache = ? AND key = ?", (cache, key)
            ).fetchone()
            return None if row is None else str(row["value"])

        return await self._db.read(select)

    async def set(self, cache: str, key: str, value: str, now: datetime) -> None:
        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO persistent_cache (cache, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (cache, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (cache, key, value, format_timestamp(now)),
            )

        await self._db.write(upsert)

    async def delete(self, cache: str, key: str) -> None:
        def remove(connection: sqlite3.Connection) -> None:
            connection.execute(
                "DELETE FROM persistent_cache WHERE cache = ? AND key = ?", (cache, key)
            )

        await self._db.write(remove)
