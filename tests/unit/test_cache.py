"""The unit's persistent cache on real SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pioleader.db import Database
from pioleader.unit.cache import PersistentCache
from pioleader.unit.registry import unit_migrations

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def cache(tmp_path: Path) -> AsyncIterator[PersistentCache]:
    db = Database(tmp_path / "unit.sqlite", migrations=unit_migrations())
    await db.open()
    try:
        yield PersistentCache(db)
    finally:
        await db.close()


async def test_values_are_kept_per_cache_and_key(cache: PersistentCache) -> None:
    assert await cache.get("od_normalization_mean", "exp1") is None
    await cache.set("od_normalization_mean", "exp1", '{"2": 0.01}', NOW)
    await cache.set("od_normalization_mean", "exp2", '{"2": 0.02}', NOW)
    await cache.set("od_normalization_mean", "exp1", '{"2": 0.03}', NOW)
    assert await cache.get("od_normalization_mean", "exp1") == '{"2": 0.03}'
    assert await cache.get("od_normalization_variance", "exp1") is None
    await cache.delete("od_normalization_mean", "exp1")
    assert await cache.get("od_normalization_mean", "exp1") is None
    assert await cache.get("od_normalization_mean", "exp2") == '{"2": 0.02}'
