"""``pioleader ingester`` as ``pioleader up`` runs it: a process that reads its database, broker
and plugin topics from the data directory, announces itself, stores data, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from pioleader.broker import Mosquitto
from pioleader.db import Database, app_migrations
from pioleader.settings import load_leader_settings
from tests.ingester.conftest import publish_all, rows, wait_for_count
from tests.mqtt import retained

pytestmark = pytest.mark.integration

STATE = "pioreactor/leader/$experiment/mqtt_to_db_streaming/$state"


async def test_ingester_process_stores_and_stops_cleanly(broker: Mosquitto, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = load_leader_settings(data_dir)
    settings.config_files.set_shared_values({("mqtt", "broker_port"): str(broker.port)})
    # A plugin on the leader declares one more topic, into an existing table.
    declarations = data_dir / "plugins" / "ingester_topics"
    declarations.mkdir(parents=True)
    (declarations / "probe.yaml").write_text(
        "{topic: probe/celsius, table: temperature_readings,"
        " columns: {timestamp: timestamp, temperature_c: c}, timestamp_columns: [timestamp]}"
    )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "pioleader", "ingester", "--data-dir", str(data_dir)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert await retained(broker.port, STATE, until=lambda s: s == "ready", within=30)
        payload = json.dumps({"growth_rate": 0.5, "timestamp": "2026-01-01T12:00:00Z"})
        topic = "pioreactor/pio01/exp1/growth_rate_calculating/growth_rate"
        probe = json.dumps({"c": 31.5, "timestamp": "2026-01-01T12:00:00Z"})
        await publish_all(
            broker.port, [(topic, payload), ("pioreactor/pio01/exp1/probe/celsius", probe)]
        )
        database = Database(settings.database_path, migrations=app_migrations())
        await database.open()
        try:
            assert await wait_for_count(database, "growth_rates", 1) == 1
            assert await wait_for_count(database, "temperature_readings", 1) == 1
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
            status = await rows(database, "SELECT * FROM ingester_status")
        finally:
            await database.close()
        assert status[0]["rows_written"] == 2
        assert status[0]["connected"] == 0
        assert await retained(broker.port, STATE) == "disconnected"
    finally:
        if process.returncode is None:
            process.kill()
        output = (await process.communicate())[0].decode()
    assert "Traceback" not in output, output
