"""Benchmark: sustained MQTT → SQLite ingestion through ``pioleader ingester``.

Starts mosquitto and a real ``pioleader ingester`` process, then publishes --messages messages
(half ``od_reading/od1``, half ``growth_rate_calculating/growth_rate``, spread over 8 units,
each with its own timestamp) at QoS 1 from --publishers publisher processes, and polls the
database until every row is there. Reports the publish rate, the sustained ingest rate (rows
stored / time from the first publish to the last row), the ingester's own counters, and any
loss or duplicate. Run:

    .venv/bin/python -m bench.bench_ingest --messages 200000 --publishers 4

Figures are printed, not asserted. Target (issue 5): ≥ 10,000 messages/s with no loss.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from pioleader.broker import Mosquitto
from pioleader.net import free_port
from pioleader.settings import load_leader_settings
from tests.mqtt import retained

EXPERIMENT = "bench"
UNITS = [f"pio{i:02d}" for i in range(1, 9)]
START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = 200  # QoS 1 publishes in flight per publisher connection


def message(index: int) -> tuple[str, str]:
    unit = UNITS[index % len(UNITS)]
    stamp = (START + timedelta(milliseconds=index)).isoformat()
    if index % 2 == 0:
        payload = {
            "calibrated": 0,
            "timestamp": stamp,
            "angle": "90",
            "od": 0.05 + index * 1e-7,
            "channel": "1",
            "ir_led_intensity": 80.0,
        }
        return f"pioreactor/{unit}/{EXPERIMENT}/od_reading/od1", json.dumps(payload)
    payload = {"growth_rate": index * 1e-6, "timestamp": stamp}
    return f"pioreactor/{unit}/{EXPERIMENT}/growth_rate_calculating/growth_rate", json.dumps(
        payload
    )


def publisher(port: int, indexes: range, done: multiprocessing.Queue[float]) -> None:
    """Publish a slice at QoS 1 with paho directly: its publish only queues, so one process
    keeps many messages in flight, where awaiting each aiomqtt publish would measure the
    publisher rather than the ingester."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    # paho scans every queued message on each acknowledgement, so keep at most WINDOW queued.
    infos: collections.deque[mqtt.MQTTMessageInfo] = collections.deque()
    for index in indexes:
        topic, payload = message(index)
        infos.append(client.publish(topic, payload, qos=1))
        if len(infos) >= WINDOW:
            infos.popleft().wait_for_publish(timeout=120)
    for info in infos:
        info.wait_for_publish(timeout=120)
    done.put(time.monotonic())
    client.loop_stop()
    client.disconnect()


def count_rows(database: Path) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return int(
            connection.execute(
                "SELECT (SELECT COUNT(*) FROM od_readings) + (SELECT COUNT(*) FROM growth_rates)"
            ).fetchone()[0]
        )
    finally:
        connection.close()


class UnboundedMosquitto(Mosquitto):
    """Our broker, but queueing any number of messages for an offline session (the backlog
    phase parks all of them in the ingester's session)."""

    def write_config(self) -> Path:
        path = super().write_config()
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("max_queued_messages 100000", "max_queued_messages 0"), encoding="utf-8"
        )
        return path


def start_ingester(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pioleader", "ingester", "--data-dir", str(data_dir)],
    )
    state = "pioreactor/leader/$experiment/mqtt_to_db_streaming/$state"
    asyncio.run(retained(port, state, until=lambda s: s == "ready", within=30))
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def publish(port: int, messages: int, publishers: int) -> tuple[float, float]:
    """Start the publisher processes; return (start, end) of publishing."""
    done: multiprocessing.Queue[float] = multiprocessing.Queue()
    share = -(-messages // publishers)
    processes = [
        multiprocessing.Process(
            target=publisher, args=(port, range(i * share, min(messages, (i + 1) * share)), done)
        )
        for i in range(publishers)
    ]
    started = time.monotonic()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return started, max(done.get() for _ in processes)


def wait_rows(database: Path, expected: int) -> tuple[int, float]:
    """Poll until every row is stored or nothing moved for 15 s; (rows, when)."""
    stored, last_progress, last_stored = 0, time.monotonic(), -1
    while stored < expected and time.monotonic() - last_progress < 15:
        time.sleep(0.02)
        stored = count_rows(database)
        if stored != last_stored:
            last_progress, last_stored = time.monotonic(), stored
    return stored, time.monotonic()


def report(phase: str, messages: int, database: Path, stored: int, seconds: float) -> None:
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    status = dict(connection.execute("SELECT * FROM ingester_status").fetchone())
    distinct = connection.execute(
        "SELECT (SELECT COUNT(DISTINCT pioreactor_unit || timestamp) FROM od_readings)"
        " + (SELECT COUNT(DISTINCT pioreactor_unit || timestamp) FROM growth_rates)"
    ).fetchone()[0]
    connection.close()
    print(
        f"{phase:<8} ingest {stored:,} rows in {seconds:.2f} s = {stored / seconds:,.0f} rows/s; "
        f"distinct {distinct:,}, lost {messages - stored:,}; ingester: received "
        f"{status['messages_received']:,}, errors {status['errors']}"
    )


def run(messages: int, publishers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        broker = UnboundedMosquitto(Path(tmp) / "mosquitto", port=free_port())
        broker.start()
        try:
            # Live: publishers and ingester at once (on a small machine they share its CPUs).
            live_dir = Path(tmp) / "live"
            settings = load_leader_settings(live_dir)
            settings.config_files.set_shared_values({("mqtt", "broker_port"): str(broker.port)})
            ingester = start_ingester(live_dir, broker.port)
            try:
                started, published = publish(broker.port, messages, publishers)
                stored, finished = wait_rows(settings.database_path, messages)
            finally:
                stop(ingester)
            print(
                f"live     published {messages:,} messages (QoS 1) from {publishers} processes "
                f"in {published - started:.2f} s = {messages / (published - started):,.0f} msg/s"
            )
            report("live", messages, settings.database_path, stored, finished - started)

            # Backlog: everything waits in the ingester's persistent session, then it drains
            # it: the ingester's own capacity, timed from its process start.
            backlog_dir = Path(tmp) / "backlog"
            settings = load_leader_settings(backlog_dir)
            settings.config_files.set_shared_values({("mqtt", "broker_port"): str(broker.port)})
            stop(start_ingester(backlog_dir, broker.port))  # creates the session
            publish(broker.port, messages, publishers)
            started = time.monotonic()
            ingester = subprocess.Popen(
                [sys.executable, "-m", "pioleader", "ingester", "--data-dir", str(backlog_dir)]
            )
            try:
                stored, finished = wait_rows(settings.database_path, messages)
            finally:
                stop(ingester)
            report("backlog", messages, settings.database_path, stored, finished - started)
        finally:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--publishers", type=int, default=4)
    args = parser.parse_args()
    run(args.messages, args.publishers)


if __name__ == "__main__":
    main()
