"""Benchmark: time-series charts of a long experiment, served by a real leader process.

Generates a realistic application database in a temporary directory: ``--units`` workers
(default 8) running one experiment for ``--days`` days (default 14) up to now, each with OD on
two channels, raw OD on two channels, fused OD, filtered OD and growth rate every 5 seconds;
temperature, stirring, liquid volume and alternative-media fraction every minute; a dosing
cycle every 20 minutes; and a log line every 2 minutes. At 14 days that is about 14 million
rows. Then it starts mosquitto and ``pioleader leader`` on that database and times:

* each chart request over the whole experiment with ``target_points=1400`` (median;
  target < 25 ms),
* the nine chart requests of an Experiment Overview page load fired together (all answered;
  target < 150 ms for the whole burst),
* each chart request over a 4-hour window (median; target < 10 ms),
* ``--clients`` (default 200) clients at once, each on its own connection, asking for the
  experiment, the experiment list and the charts (4 hours and whole experiment): every one
  answered, none slower than 1 s.

Run (smaller with ``--days 2``):

    .venv/bin/python -m bench.bench_timeseries --days 14

The rows are written with ``executemany`` in one transaction per table, journal off, and the
activity-data triggers dropped during the load (they only fill a table the charts never read)
and recreated afterwards. Figures are printed, not asserted: machines are noisy, tests assert
behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from pioleader.broker import Mosquitto
from pioleader.clock import format_timestamp
from pioleader.db.migrations import app_migrations, apply_migrations
from pioleader.net import free_port
from pioleader.settings import load_leader_settings
from tests.integration.conftest import LeaderProcess

EXPERIMENT = "long_run"
FAST_SECONDS = 5
SLOW_SECONDS = 60
DOSING_SECONDS = 20 * 60
LOG_SECONDS = 2 * 60

# The charts of the Experiment Overview page: six fixed sources and three fallbacks.
OVERVIEW = [
    "growth_rates",
    "temperature_readings",
    "od_readings_filtered",
    "od_readings",
    "raw_od_readings",
    "od_readings_fused",
    "stirring_rates/measured_rpm",
    "liquid_volumes/liquid_volume",
    "alt_media_fractions/alt_media_fraction",
]


def stamps(start: datetime, end: datetime, every: int) -> list[str]:
    count = int((end - start).total_seconds() // every)
    return [format_timestamp(start + timedelta(seconds=i * every)) for i in range(count + 1)]


def od_curve(i: int, count: int) -> float:
    """Logistic growth, diluted back every ~6 hours once dense."""
    t = i / max(count, 1) * 40
    return 0.05 + 1.5 / (1 + math.exp(-(t % 6 - 3) * 1.2))


class Generator:
    def __init__(self, path: Path, units: list[str], days: float, now: datetime) -> None:
        self.path = path
        self.units = units
        self.end = now
        self.start = now - timedelta(days=days)
        self.random = random.Random(42)
        self.rows = 0

    def fill(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        apply_migrations(connection, app_migrations())
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -262144")
        triggers = connection.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'"
            " AND name LIKE 'update_pioreactor_unit_activity_data_from_%'"
        ).fetchall()
        for trigger in triggers:
            connection.execute(f'DROP TRIGGER "{trigger["name"]}"')
        self._cluster(connection)
        fast = stamps(self.start, self.end, FAST_SECONDS)
        slow = stamps(self.start, self.end, SLOW_SECONDS)
        self._insert(
            connection,
            "od_readings (experiment, pioreactor_unit, timestamp, od_reading, angle, channel)",
            self._od(fast, angle=True),
        )
        self._insert(
            connection,
            "raw_od_readings (experiment, pioreactor_unit, timestamp, od_reading, channel)",
            self._od(fast, angle=False),
        )
        for table, column, scale in (
            ("od_readings_fused", "od_reading", 1.0),
            ("od_readings_filtered", "normalized_od_reading", 3.0),
            ("growth_rates", "rate", 0.3),
        ):
            self._insert(
                connection,
                f"{table} (experiment, pioreactor_unit, timestamp, {column})",
                self._single(fast, scale),
            )
        for table, column, base, spread in (
            ("temperature_readings", "temperature_c", 30.0, 0.2),
            ("stirring_rates", "measured_rpm", 500.0, 15.0),
            ("liquid_volumes", "liquid_volume", 14.0, 0.5),
            ("alt_media_fractions", "alt_media_fraction", 0.2, 0.05),
        ):
            self._insert(
                connection,
                f"{table} (experiment, pioreactor_unit, timestamp, {column})",
                self._noisy(slow, base, spread),
            )
        self._insert(
            connection,
            "dosing_events (experiment, pioreactor_unit, timestamp, event, volume_change_ml,"
            " source_of_event)",
            self._dosing(stamps(self.start, self.end, DOSING_SECONDS)),
        )
        self._insert(
            connection,
            "logs (experiment, pioreactor_unit, timestamp, message, source, level, task)",
            self._logs(stamps(self.start, self.end, LOG_SECONDS)),
        )
        for trigger in triggers:
            connection.execute(trigger["sql"])
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("ANALYZE")
        connection.close()

    def _cluster(self, connection: sqlite3.Connection) -> None:
        created = format_timestamp(self.start)
        connection.execute("BEGIN")
        connection.execute(
            "INSERT INTO experiments (experiment, created_at, description) VALUES (?, ?, ?)",
            (EXPERIMENT, created, "benchmark"),
        )
        for unit in self.units:
            connection.execute(
                "INSERT INTO workers (pioreactor_unit, added_at, model_name, model_version)"
                " VALUES (?, ?, 'pioreactor_40ml', '1.5')",
                (unit, created),
            )
            connection.execute(
                "INSERT INTO experiment_worker_assignments (pioreactor_unit, experiment,"
                " assigned_at) VALUES (?, ?, ?)",
                (unit, EXPERIMENT, created),
            )
        connection.execute("COMMIT")

    def _insert(self, connection: sqlite3.Connection, into: str, rows: Iterator[tuple]) -> None:
        columns = into[into.index("(") + 1 : into.index(")")].count(",") + 1
        started = time.perf_counter()
        connection.execute("BEGIN")
        cursor = connection.executemany(
            f"INSERT INTO {into} VALUES ({', '.join('?' * columns)})",  # noqa: S608 - fixed text
            rows,
        )
        connection.execute("COMMIT")
        self.rows += cursor.rowcount
        table = into.split(" ", 1)[0]
        print(f"  {table:24s} {cursor.rowcount:>11,} rows  {time.perf_counter() - started:6.1f} s")

    def _od(self, fast: list[str], *, angle: bool) -> Iterator[tuple]:
        count = len(fast)
        noise = self.random.random
        for unit in self.units:
            for channel in (1, 2):
                for i, stamp in enumerate(fast):
                    value = od_curve(i, count) * (1.0 if channel == 1 else 0.6) + noise() * 0.01
                    if angle:
                        yield (EXPERIMENT, unit, stamp, value, 90 if channel == 1 else 135, channel)
                    else:
                        yield (EXPERIMENT, unit, stamp, value * 0.02, channel)

    def _single(self, fast: list[str], scale: float) -> Iterator[tuple]:
        count = len(fast)
        noise = self.random.random
        for unit in self.units:
            for i, stamp in enumerate(fast):
                yield (EXPERIMENT, unit, stamp, od_curve(i, count) * scale + noise() * 0.005)

    def _noisy(self, slow: list[str], base: float, spread: float) -> Iterator[tuple]:
        gauss = self.random.gauss
        for unit in self.units:
            for stamp in slow:
                yield (EXPERIMENT, unit, stamp, base + gauss(0, spread))

    def _dosing(self, moments: list[str]) -> Iterator[tuple]:
        for unit in self.units:
            for i, stamp in enumerate(moments):
                event = "add_alt_media" if i % 4 == 0 else "add_media"
                yield (EXPERIMENT, unit, stamp, event, 0.5, "chemostat")
                yield (EXPERIMENT, unit, stamp, "remove_waste", 0.5, "chemostat")

    def _logs(self, moments: list[str]) -> Iterator[tuple]:
        levels = ("DEBUG", "INFO", "INFO", "INFO", "NOTICE", "WARNING")
        for unit in self.units:
            for i, stamp in enumerate(moments):
                yield (
                    EXPERIMENT,
                    unit,
                    stamp,
                    f"Heartbeat {i}: OD steady",
                    "app",
                    levels[i % len(levels)],
                    "monitor",
                )


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"
        f"   max {ordered[-1] * 1000:7.2f} ms"
    )


async def timed_get(client: httpx.AsyncClient, url: str, params: dict[str, float]) -> float:
    started = time.perf_counter()
    response = await client.get(url, params=params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.json()["series"], url
    return elapsed


async def measure(base: str, days: float, repeat: int) -> None:
    whole = {"lookback": days * 24 + 1, "target_points": 1400}
    recent = {"lookback": 4, "target_points": 1400}
    url = f"{base}/api/experiments/{EXPERIMENT}/time_series/"
    async with httpx.AsyncClient(timeout=60) as client:
        print("\nfirst requests (nothing kept in the leader's memory yet), whole experiment:")
        for chart in OVERVIEW:
            print(f"  {chart:40s} {summary([await timed_get(client, url + chart, whole)])}")
        floor = []
        for _ in range(repeat):
            started = time.perf_counter()
            assert (await client.get(f"{base}/api/experiments/{EXPERIMENT}")).status_code == 200
            floor.append(time.perf_counter() - started)
        print(f"\nfloor: GET /api/experiments/{EXPERIMENT}{'':15s} {summary(floor)}")

        print(f"\nwhole experiment ({days:g} days), target_points=1400, sequential:")
        for chart in OVERVIEW:
            samples = [await timed_get(client, url + chart, whole) for _ in range(repeat)]
            print(f"  {chart:40s} {summary(samples)}")

        print("\nExperiment Overview: the nine requests fired together:")
        bursts = []
        for _ in range(repeat):
            started = time.perf_counter()
            await asyncio.gather(*(timed_get(client, url + chart, whole) for chart in OVERVIEW))
            bursts.append(time.perf_counter() - started)
        print(f"  {'all nine answered':40s} {summary(bursts)}")

        print("\n4-hour window, target_points=1400, sequential:")
        for chart in OVERVIEW:
            samples = [await timed_get(client, url + chart, recent) for _ in range(repeat)]
            print(f"  {chart:40s} {summary(samples)}")


async def crowd(base: str, days: float, clients: int, rounds: int) -> None:
    """``clients`` clients, each with its own connection, all asking at once."""
    url = f"{base}/api/experiments/{EXPERIMENT}"
    asks: list[tuple[str, dict[str, float]]] = [
        (url, {}),
        (f"{base}/api/experiments", {}),
        *((f"{url}/time_series/{chart}", {"lookback": 4}) for chart in OVERVIEW[:4]),
        *((f"{url}/time_series/{chart}", {"lookback": days * 24 + 1}) for chart in OVERVIEW[:2]),
    ]
    limits = httpx.Limits(max_connections=1)
    sessions = [httpx.AsyncClient(timeout=30, limits=limits) for _ in range(clients)]
    latencies: list[float] = []
    failures = 0
    try:

        async def one(n: int, client: httpx.AsyncClient) -> None:
            nonlocal failures
            target, params = asks[n % len(asks)]
            started = time.perf_counter()
            response = await client.get(target, params=params)
            latencies.append(time.perf_counter() - started)
            failures += response.status_code != 200

        for round_ in range(rounds):  # each client asks something else in each round
            await asyncio.gather(*(one(n + round_, c) for n, c in enumerate(sessions)))
    finally:
        await asyncio.gather(*(c.aclose() for c in sessions))
    slow = sum(latency > 1.0 for latency in latencies)
    print(f"\n{clients} clients at once, {rounds} rounds ({len(latencies)} requests):")
    print(f"  {'every request':40s} {summary(latencies)}")
    print(f"  failed: {failures}   slower than 1 s: {slow}   (target: 0 and 0)")


async def run(days: float, units: int, repeat: int, keep: Path | None, clients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = keep or Path(tmp)
        broker = Mosquitto(Path(tmp) / "mosquitto", port=free_port())
        broker.start()
        leader = LeaderProcess(workdir / "leader", broker.port, {})
        database = load_leader_settings(leader.data_dir).database_path
        if database.exists():
            # Reused for quick iterations only: its data end when it was generated, so the
            # 4-hour window holds fewer points as it ages.
            print(f"reusing {database}")
        else:
            database.parent.mkdir(parents=True, exist_ok=True)
            names = [f"pio{i + 1:02d}" for i in range(units)]
            generator = Generator(database, names, days, datetime.now(UTC))
            print(f"generating {days:g} days x {units} units into {database}")
            started = time.perf_counter()
            generator.fill()
            size = database.stat().st_size / 1e9
            print(
                f"generated {generator.rows:,} rows, {size:.2f} GB,"
                f" in {time.perf_counter() - started:.1f} s"
            )
        leader.start()
        try:
            await measure(leader.url, days, repeat)
            await crowd(leader.url, days, clients, rounds=5)
        finally:
            leader.stop()
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument(
        "--keep", type=Path, help="generate into this directory once and reuse it afterwards"
    )
    args = parser.parse_args()
    asyncio.run(run(args.days, args.units, args.repeat, args.keep, args.clients))


if __name__ == "__main__":
    main()
