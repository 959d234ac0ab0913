"""Fixtures for the ingester: its own database (foreign keys off, as in production), an
ingester started in-process against the real broker, and helpers that wait with deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from pioleader.broker import Mosquitto
from pioleader.db import Database, app_migrations
from pioleader.ingester import Ingester
from pioleader.settings import MqttSettings

LEADER = "leader"

StartIngester = Callable[..., Awaitable[Ingester]]


@pytest.fixture
async def ingest_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "ingest.sqlite", migrations=app_migrations(), foreign_keys=False)
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def start_ingester(broker: Mosquitto, ingest_db: Database) -> AsyncIterator[StartIngester]:
    """Start an ingester (stopped at teardown unless the test stopped it)."""
    started: list[Ingester] = []

    async def start(database: Database | None = None, **options: Any) -> Ingester:
        options = {"flush_interval": 0.05, "stats_interval": 0.2, "reconnect_delay": 0.2, **options}
        ingester = Ingester(
            database or ingest_db, MqttSettings(port=broker.port), leader=LEADER, **options
        )
        await ingester.start()
        assert await ingester.wait_connected(10)
        started.append(ingester)
        return ingester

    yield start
    for ingester in started:
        if not ingester.stopped:
            await ingester.stop()


async def publish_all(
    port: int, messages: Iterable[tuple[str, str | bytes]], *, retain: bool = False
) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1, retain=retain)


async def count(database: Database, table: str, where: str = "1") -> int:
    sql = f"SELECT COUNT(*) AS n FROM {table} WHERE {where}"
    return int(await database.read(lambda c: c.execute(sql).fetchone()["n"]))


async def wait_for_count(
    database: Database, table: str, expected: int, *, where: str = "1", within: float = 15.0
) -> int:
    """Poll until ``table`` has at least ``expected`` rows or the deadline passes."""
    deadline = time.monotonic() + within
    while True:
        found = await count(database, table, where)
        if found >= expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def wait_until(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.02)


async def rows(database: Database, sql: str) -> list[dict[str, Any]]:
    return await database.read(lambda c: c.execute(sql).fetchall())
