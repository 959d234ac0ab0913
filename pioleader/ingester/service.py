"""The ingester: MQTT data topics in, rows of the application database out.

Upstream's leader runs this as ``mqtt_to_db_streaming``. Ours keeps a persistent MQTT session
(QoS 1, clean session off, a stable client id), so that while it is down or the broker
restarts the broker queues what it would have missed; it batches rows (every
``flush_interval`` seconds or ``max_batch`` rows, whichever comes first) into one write
transaction, retried until it commits; and a payload that cannot become a row is logged,
counted and skipped on its own. Health counters go to the ``ingester_status`` table, to a
retained MQTT topic and to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

from pioleader.bus import MqttBus
from pioleader.bus.publisher import BusUnavailable, Will
from pioleader.bus.topics import UNIVERSAL_EXPERIMENT
from pioleader.clock import Clock, SystemClock, format_timestamp
from pioleader.db import Database, app_migrations
from pioleader.ingester.plugin_topics import load_plugin_routes
from pioleader.ingester.receiver import MqttReceiver
from pioleader.ingester.store import BatchResult, Status, save_status, write_batch
from pioleader.ingester.topics import (
    SUBSCRIPTIONS,
    BadPayload,
    Message,
    Route,
    Row,
    Table,
    route,
    split_topic,
)
from pioleader.settings import MqttSettings

logger = logging.getLogger("pioleader.ingester")

JOB_NAME = "mqtt_to_db_streaming"
# Bad payloads are logged one by one up to this many per summary interval, then only counted.
_BAD_PAYLOAD_LOGS_PER_INTERVAL = 20


def job_topic(leader: str, name: str) -> str:
    return f"pioreactor/{leader}/{UNIVERSAL_EXPERIMENT}/{JOB_NAME}/{name}"


@dataclass
class _Counters:
    received: int = 0
    ignored: int = 0
    errors: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    last_message_at: datetime | None = None


@dataclass
class _Pending:
    """Rows waiting for the next write, and when the oldest of them arrived (monotonic)."""

    rows: dict[Table, list[Row]] = field(default_factory=dict)
    count: int = 0
    oldest: float | None = None


class Ingester:
    """One ingester: ``start()``, then ``stop()`` (which writes whatever is pending)."""

    def __init__(
        self,
        database: Database,
        mqtt: MqttSettings,
        *,
        leader: str,
        clock: Clock | None = None,
        client_id: str | None = None,
        flush_interval: float = 0.2,
        max_batch: int = 500,
        stats_interval: float = 5.0,
        log_interval: float = 60.0,
        reconnect_delay: float = 1.0,
        retry_delay: float = 1.0,
        extra_routes: Mapping[str, Route] | None = None,
    ) -> None:
        self._db = database
        # Topics (after pioreactor/<unit>/<experiment>/) that plugins declared; see plugin_topics.
        self._extra_routes = dict(extra_routes or {})
        self._leader = leader
        self._clock = clock or SystemClock()
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._stats_interval = stats_interval
        self._log_interval = log_interval
        self._retry_delay = retry_delay
        self._counters = _Counters()
        self._pending = _Pending()
        self._inflight_oldest: float | None = None
        self._inflight_count = 0
        self._full = asyncio.Event()
        self._started_at = self._clock.now()
        self._bad_logged = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Data comes in on its own lean connection (see receiver.py); the bus only publishes
        # our `$state` (with its last will) and stats, as a job would.
        self._receiver = MqttReceiver(
            mqtt,
            # Stable, so that the broker keeps our session (and queues for us) across restarts.
            client_id=client_id or f"pioleader-ingester-{leader}",
            subscriptions=(
                *SUBSCRIPTIONS,
                *(f"pioreactor/+/+/{rest}" for rest in sorted(self._extra_routes)),
            ),
            on_message=self._on_message,
            reconnect_delay=reconnect_delay,
        )
        self._bus = MqttBus(
            mqtt,
            client_id=f"pioleader-ingester-{leader}-state",
            reconnect_delay=reconnect_delay,
            will=Will(job_topic(leader, "$state"), "lost", qos=1, retain=True),
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._bus.on_connect(self._announce_ready)
        await self._bus.start()
        await self._receiver.start()
        self._tasks = [
            asyncio.create_task(self._flush_loop(), name="ingester-flush"),
            asyncio.create_task(self._stats_loop(), name="ingester-stats"),
        ]

    async def stop(self) -> None:
        """Say goodbye, stop receiving, then write every row received so far."""
        if self._stopping:
            return
        self._stopping = True
        await self._receiver.stop()
        with contextlib.suppress(BusUnavailable):
            await self._bus.publish(job_topic(self._leader, "$state"), "disconnected", retain=True)
        await self._bus.stop()
        # The flush loop is woken, not cancelled: cancelling it mid-write would let the
        # transaction commit unseen by the counters.
        _flusher, *others = self._tasks
        for task in others:
            task.cancel()
        self._full.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._flush(final=True)
        await self._db.write(partial(save_status, status=self.status()))
        self._log_summary()

    @property
    def stopped(self) -> bool:
        return self._stopping

    async def wait_connected(self, within: float) -> bool:
        return await self._receiver.wait_connected(within)

    # -- health -------------------------------------------------------------------------------

    def status(self) -> Status:
        counters = self._counters
        return Status(
            started_at=format_timestamp(self._started_at),
            updated_at=format_timestamp(self._clock.now()),
            messages_received=counters.received,
            messages_ignored=counters.ignored,
            errors=counters.errors,
            rows_written=sum(counters.rows.values()),
            rows_by_table=dict(counters.rows),
            pending=self._pending.count + self._inflight_count,
            lag_seconds=round(self._lag(), 3),
            last_message_at=(
                None
                if counters.last_message_at is None
                else format_timestamp(counters.last_message_at)
            ),
            connected=self._receiver.connected,
        )

    def _lag(self) -> float:
        """Seconds since the oldest message not yet committed arrived (0 when none is)."""
        oldest = [t for t in (self._inflight_oldest, self._pending.oldest) if t is not None]
        return time.monotonic() - min(oldest) if oldest else 0.0

    # -- receiving ----------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        now = self._clock.now()
        counters = self._counters
        counters.received += 1
        counters.last_message_at = now
        parts = split_topic(topic)
        # Matches upstream §9: retained copies (sent on subscribing) are old news, empty
        # payloads clear retained topics, and `_testing_` experiments are never stored.
        if retained or not payload or parts is None or "/_testing_" in topic:
            counters.ignored += 1
            return
        unit, experiment, rest = parts
        found = route(rest) or self._extra_routes.get(rest)
        if found is None:
            counters.ignored += 1
            return
        try:
            row = found.parse(Message(unit, experiment, rest, payload, now))
        except BadPayload as error:
            self._bad_payload(topic, payload, str(error))
            return
        pending = self._pending
        pending.rows.setdefault(found.table, []).append(row)
        pending.count += 1
        if pending.oldest is None:
            pending.oldest = time.monotonic()
        if pending.count >= self._max_batch:
            self._full.set()

    def _bad_payload(self, topic: str, payload: bytes, reason: str) -> None:
        self._counters.errors += 1
        self._bad_logged += 1
        if self._bad_logged <= _BAD_PAYLOAD_LOGS_PER_INTERVAL:
            logger.warning("skipped a message on %s (%s): %.200r", topic, reason, payload)

    # -- writing ------------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_interval):
                    await self._full.wait()
            self._full.clear()
            await self._flush()

    async def _flush(self, *, final: bool = False) -> None:
        pending = self._pending
        if not pending.count:
            return
        self._pending = _Pending()
        self._inflight_oldest, self._inflight_count = pending.oldest, pending.count
        try:
            result = await self._write(pending.rows, final=final)
        finally:
            self._inflight_oldest, self._inflight_count = None, 0
        if result is None:
            return
        for table, written in result.rows.items():
            self._counters.rows[table] = self._counters.rows.get(table, 0) + written
        for table, reason in result.refused:
            self._bad_payload(table, b"", f"refused by the database: {reason}")

    async def _write(self, rows: dict[Table, list[Row]], *, final: bool) -> BatchResult | None:
        """Write one batch, retrying while the database fails as a whole (locked, full disk):
        dropping the batch would lose messages the broker no longer holds for us."""
        attempts = 0
        while True:
            status = self.status()
            try:
                return await self._db.write(partial(_write_transaction, rows=rows, status=status))
            except sqlite3.Error as error:
                attempts += 1
                logger.error(
                    "writing %d rows failed (attempt %d): %s", status.pending, attempts, error
                )
                if (final or self._stopping) and attempts >= 3:
                    logger.error("giving up: %d rows not written", sum(map(len, rows.values())))
                    return None
                await asyncio.sleep(self._retry_delay)

    # -- reporting ----------------------------------------------------------------------------

    async def _announce_ready(self) -> None:
        if not self._stopping:
            await self._bus.publish(job_topic(self._leader, "$state"), "ready", retain=True)

    async def _stats_loop(self) -> None:
        last_log = time.monotonic()
        while True:
            await asyncio.sleep(self._stats_interval)
            status = self.status()
            if status.pending == 0:
                # Between batches nothing else refreshes the row (lag, connection).
                try:
                    await self._db.write(partial(save_status, status=status))
                except sqlite3.Error as error:  # the next batch's retries report it too
                    logger.warning("could not save the ingester status: %s", error)
            with contextlib.suppress(BusUnavailable):
                await self._bus.publish(
                    job_topic(self._leader, "stats"), json.dumps(status.as_json()), retain=True
                )
            if time.monotonic() - last_log >= self._log_interval:
                last_log = time.monotonic()
                self._log_summary()

    def _log_summary(self) -> None:
        status = self.status()
        suppressed = max(0, self._bad_logged - _BAD_PAYLOAD_LOGS_PER_INTERVAL)
        self._bad_logged = 0
        logger.info(
            "ingester: %d messages, %d ignored, %d errors%s, %d rows written, %d pending, "
            "lag %.3f s",
            status.messages_received,
            status.messages_ignored,
            status.errors,
            f" ({suppressed} not logged)" if suppressed else "",
            status.rows_written,
            status.pending,
            status.lag_seconds,
        )


def _write_transaction(
    connection: sqlite3.Connection, *, rows: dict[Table, list[Row]], status: Status
) -> BatchResult:
    """The rows and the status row they lead to, committed together."""
    result = write_batch(connection, rows)
    merged = dict(status.rows_by_table)
    for table, written in result.rows.items():
        merged[table] = merged.get(table, 0) + written
    save_status(
        connection,
        replace(
            status,
            rows_by_table=merged,
            rows_written=sum(merged.values()),
            errors=status.errors + len(result.refused),
        ),
    )
    return result


async def run_ingester(
    database_path: Path,
    mqtt: MqttSettings,
    *,
    leader: str,
    stop: asyncio.Event,
    data_dir: Path | None = None,
) -> None:
    """Run an ingester on the application database until ``stop`` is set (the CLI's loop),
    storing too the topics that the plugins of ``data_dir`` declare."""
    # Upstream's ingester does not enforce foreign keys either: rows of an experiment the
    # leader has not created (yet) are kept, not lost.
    database = Database(database_path, migrations=app_migrations(), foreign_keys=False)
    await database.open()
    try:
        extra = {} if data_dir is None else await load_plugin_routes(database, data_dir)
        ingester = Ingester(database, mqtt, leader=leader, extra_routes=extra)
        await ingester.start()
        logger.info("ingesting from %s:%d into %s", mqtt.host, mqtt.port, database_path)
        try:
            await stop.wait()
        finally:
            await ingester.stop()
    finally:
        await database.close()
