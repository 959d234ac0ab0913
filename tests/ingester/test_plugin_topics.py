"""Topics declared by plugins on the leader: valid declarations are stored through a real
broker; malformed ones, and ones naming a built-in topic or a table or column the database
lacks, are logged and skipped without stopping the others."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pioleader.broker import Mosquitto
from pioleader.db import Database
from pioleader.ingester.plugin_topics import load_plugin_routes
from tests.ingester.conftest import StartIngester, publish_all, rows, wait_for_count, wait_until

GOOD = """
- topic: co2_reading/co2
  table: co2_readings
  columns: {timestamp: timestamp, ppm: co2, sensor: sensor}
  timestamp_columns: [timestamp]
- topic: co2_reading/heartbeat
  table: co2_readings
  columns: {timestamp: $received_at, ppm: level}
"""

BAD = {
    "broken.yaml": "topic: [unclosed",
    "wildcard.yaml": "{topic: co2/+, table: co2_readings, columns: {ppm: co2}}",
    "extra_key.yaml": "{topic: a/b, table: co2_readings, columns: {ppm: co2}, when: now}",
    "no_table.yaml": "{topic: a/c, table: nothing_here, columns: {ppm: co2}}",
    "no_column.yaml": "{topic: a/d, table: co2_readings, columns: {colour: c}}",
    "scope.yaml": "{topic: a/e, table: co2_readings, columns: {experiment: e}}",
    "built_in.yaml": "{topic: od_reading/od1, table: co2_readings, columns: {ppm: od}}",
    "stray.yaml": "{topic: a/f, table: co2_readings, columns: {ppm: c}, timestamp_columns: [x]}",
}


def declare(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


@pytest.fixture
async def co2_table(ingest_db: Database) -> None:
    await ingest_db.write(
        lambda c: c.execute(
            "CREATE TABLE co2_readings (experiment TEXT NOT NULL, pioreactor_unit TEXT NOT NULL,"
            " timestamp TEXT NOT NULL, ppm REAL NOT NULL, sensor TEXT)"
        )
    )


@pytest.mark.usefixtures("co2_table")
async def test_declared_topics_are_stored_and_bad_declarations_skipped(
    broker: Mosquitto,
    ingest_db: Database,
    start_ingester: StartIngester,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    declare(tmp_path / "plugins_site" / "co2_plugin" / "ingester_topics", {"co2.yaml": GOOD})
    declare(tmp_path / "plugins" / "ingester_topics", BAD)
    with caplog.at_level(logging.INFO, "pioleader.ingester"):
        routes = await load_plugin_routes(ingest_db, tmp_path)
    assert sorted(routes) == ["co2_reading/co2", "co2_reading/heartbeat"]
    skipped = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(skipped) == len(BAD)
    for fragment in [
        "broken.yaml",
        "wildcard.yaml",
        "extra_key.yaml",
        "'nothing_here' does not exist",
        "has no column 'colour'",
        "'experiment' is filled from the topic",
        "'od_reading/od1' is already stored",
        "'x' is not one of the columns",
    ]:
        assert any(fragment in message for message in skipped), (fragment, skipped)

    ingester = await start_ingester(extra_routes=routes)
    base = "pioreactor/pio02/exp1/co2_reading"
    await publish_all(
        broker.port,
        [
            (
                f"{base}/co2",
                json.dumps(
                    {"co2": 412.5, "sensor": "scd30", "timestamp": "2026-01-01T12:00:00+01:00"}
                ),
            ),
            (
                f"{base}/co2",
                json.dumps(
                    {"co2": {"nested": 1}, "sensor": "x", "timestamp": "2026-01-01T12:00:00Z"}
                ),
            ),
            (f"{base}/co2", json.dumps({"sensor": "x", "timestamp": "2026-01-01T12:00:00Z"})),
            (f"{base}/heartbeat", json.dumps({"level": 400})),
            (f"{base}/unknown", json.dumps({"co2": 1})),
        ],
    )
    assert await wait_for_count(ingest_db, "co2_readings", 2) == 2
    await wait_until(lambda: ingester.status().errors == 2 and ingester.status().pending == 0)
    stored = await rows(ingest_db, "SELECT * FROM co2_readings ORDER BY ppm DESC")
    assert stored[0] == {
        "experiment": "exp1",
        "pioreactor_unit": "pio02",
        "timestamp": "2026-01-01T11:00:00.000Z",
        "ppm": 412.5,
        "sensor": "scd30",
    }
    assert (stored[1]["ppm"], stored[1]["sensor"]) == (400, None)
    assert stored[1]["timestamp"].endswith("Z")


async def test_no_declarations_no_routes(ingest_db: Database, tmp_path: Path) -> None:
    assert await load_plugin_routes(ingest_db, tmp_path) == {}
