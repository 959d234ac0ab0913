"""Benchmark: exporting ``od_readings`` of a long experiment through a real leader process.

Generates a database of OD readings (8 units, 2 channels, one reading every 5 s for --days
days: 3.9 million rows for 14 days), starts ``pioleader leader`` on it, asks for the export of
the whole experiment, waits for the task, and reports rows per second into the zip and the
leader's peak memory (VmHWM). Run:

    .venv/bin/python -m bench.bench_export --days 14

Figures are printed, not asserted. Target (issue 5): ≥ 500,000 rows/s, leader under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from pioleader.broker import Mosquitto
from pioleader.clock import format_timestamp
from pioleader.db import app_migrations
from pioleader.db.migrations import apply_migrations
from pioleader.net import free_port
from tests.integration.conftest import LeaderProcess

EXPERIMENT = "long-run"
UNITS = [f"pio{i:02d}" for i in range(1, 9)]


def generate(database: Path, days: int) -> int:
    database.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(database, isolation_level=None)
    connection.row_factory = lambda cursor, row: {
        c[0]: v for c, v in zip(cursor.description, row, strict=True)
    }
    apply_migrations(connection, app_migrations())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    connection.execute(
        "INSERT INTO experiments (experiment, created_at) VALUES (?, ?)",
        (EXPERIMENT, format_timestamp(start)),
    )
    steps = days * 24 * 3600 // 5
    total = 0
    connection.execute("BEGIN")
    batch: list[tuple[str, str, str, float, int, int]] = []
    for step in range(steps):
        stamp = format_timestamp(start + timedelta(seconds=5 * step))
        for index, unit in enumerate(UNITS):
            od = 0.05 + 0.0001 * step * (1 + index / 10)
            batch.append((EXPERIMENT, unit, stamp, round(od, 6), 90, 2))
            batch.append((EXPERIMENT, unit, stamp, round(od * 0.8, 6), 45, 1))
        if len(batch) >= 200_000:
            connection.executemany("INSERT INTO od_readings VALUES (?, ?, ?, ?, ?, ?)", batch)
            total += len(batch)
            batch.clear()
    connection.executemany("INSERT INTO od_readings VALUES (?, ?, ?, ?, ?, ?)", batch)
    total += len(batch)
    connection.execute("COMMIT")
    connection.close()
    return total


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_export(base: str) -> tuple[float, dict]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        accepted = await client.post(
            "/api/datasets/exportable/export",
            json={"datasets": ["od_readings"], "experiments": [EXPERIMENT]},
        )
        assert accepted.status_code == 202, accepted.text
        while True:
            status = await client.get(accepted.json()["result_url_path"])
            if status.status_code == 200:
                return time.perf_counter() - started, status.json()
            await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto", port=free_port())
        broker.start()
        data = Path(tmp) / "leader"
        started = time.perf_counter()
        rows = generate(data / "storage" / "pioreactor.sqlite", args.days)
        print(f"generated {rows:,} od_readings rows in {time.perf_counter() - started:.1f} s")
        leader = LeaderProcess(data, broker.port, {})
        leader.start()
        try:
            assert leader.process is not None
            before = peak_memory_mb(leader.process.pid)
            elapsed, status = asyncio.run(run_export(leader.url))
            assert status["status"] == "succeeded", status
            exported = status["result"]["rows"]["od_readings"]
            size = (data / "exports" / status["result"]["filename"]).stat().st_size
            print(
                f"exported {exported:,} rows in {elapsed:.2f} s: {exported / elapsed:,.0f} rows/s;"
                f" zip {size / 2**20:.1f} MB"
            )
            print(
                f"leader peak memory (VmHWM): {peak_memory_mb(leader.process.pid):.0f} MB"
                f" (before the export: {before:.0f} MB)"
            )
        finally:
            leader.stop()
            broker.stop()


if __name__ == "__main__":
    main()
