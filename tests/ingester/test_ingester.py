"""The ingester through a real broker: every topic of behaviour §9 becomes the right row, once;
bad payloads, retained copies and `_testing_` experiments are skipped; a broker restart loses
nothing; the counters reach the database, MQTT and the leader's API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.clock import parse_timestamp
from pioleader.db import Database, app_migrations
from pioleader.ingester.store import write_batch
from pioleader.ingester.topics import OD_READINGS
from pioleader.settings import LeaderSettings
from tests.ingester.conftest import (
    LEADER,
    StartIngester,
    count,
    publish_all,
    rows,
    wait_for_count,
    wait_until,
)
from tests.mqtt import retained

EXP = "exp1"
TS = "2026-01-01T12:00:00.123456Z"
STORED = "2026-01-01T12:00:00.123Z"


def topic(rest: str, *, unit: str = "pio01", experiment: str = EXP) -> str:
    return f"pioreactor/{unit}/{experiment}/{rest}"


def od(channel: str, value: float, *, timestamp: str = TS) -> str:
    return json.dumps(
        {
            "calibrated": 0,
            "timestamp": timestamp,
            "angle": "90",
            "od": value,
            "channel": channel,
            "ir_led_intensity": 80.0,
        }
    )


SETTINGS_BLOB = base64.b64encode(b'{"target_rpm": 500}').decode()

# (topic after pioreactor/pio01/exp1/, payload, table, expected columns of its one row)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("od_reading/od2", od("2", 0.05), "od_readings",
     {"timestamp": STORED, "od_reading": 0.05, "angle": 90, "channel": 2}),
    ("od_reading/raw_od1", od("1", 0.5), "raw_od_readings",
     {"timestamp": STORED, "od_reading": 0.5, "channel": 1}),
    ("od_reading/od_fused", json.dumps({"od_fused": 1.25, "timestamp": TS}), "od_readings_fused",
     {"timestamp": STORED, "od_reading": 1.25}),
    ("growth_rate_calculating/od_filtered", json.dumps({"od_filtered": 1.5, "timestamp": TS}),
     "od_readings_filtered", {"timestamp": STORED, "normalized_od_reading": 1.5}),
    ("growth_rate_calculating/growth_rate",
     json.dumps({"growth_rate": 0.31, "timestamp": "2026-01-01T14:00:00.5+02:00"}),
     "growth_rates", {"timestamp": "2026-01-01T12:00:00.500Z", "rate": 0.31}),
    ("temperature_automation/temperature", json.dumps({"temperature": 32.5, "timestamp": TS}),
     "temperature_readings", {"timestamp": STORED, "temperature_c": 32.5}),
    ("stirring/measured_rpm", json.dumps({"measured_rpm": 498, "timestamp": TS}),
     "stirring_rates", {"timestamp": STORED, "measured_rpm": 498.0}),
    ("dosing_events",
     json.dumps({"volume_change": 1.0, "event": "add_media", "source_of_event": "manually",
                 "timestamp": TS}),
     "dosing_events",
     {"timestamp": STORED, "event": "add_media", "volume_change_ml": 1.0,
      "source_of_event": "manually"}),
    ("led_change_events",
     json.dumps({"channel": "B", "intensity": 50, "source_of_event": "led_automation",
                 "timestamp": TS}),
     "led_change_events",
     {"timestamp": STORED, "channel": "B", "intensity": 50.0, "source_of_event": "led_automation"}),
    ("bioreactor/alt_media_fraction", "0.25", "alt_media_fractions", {"alt_media_fraction": 0.25}),
    ("bioreactor/current_volume_ml", "14.5", "liquid_volumes", {"liquid_volume": 14.5}),
    ("logs/app/warning",
     json.dumps({"message": "hello", "level": "warning", "task": "stirring", "source": "app",
                 "timestamp": TS}),
     "logs",
     {"timestamp": STORED, "message": "hello", "source": "app", "level": "WARNING",
      "task": "stirring"}),
    ("dosing_automation/dosing_automation_settings",
     json.dumps({"pioreactor_unit": "pio01", "experiment": EXP, "started_at": TS,
                 "ended_at": None, "automation_name": "chemostat", "settings": SETTINGS_BLOB}),
     "dosing_automation_settings",
     {"started_at": STORED, "ended_at": None, "automation_name": "chemostat",
      "settings": SETTINGS_BLOB}),
    ("led_automation/led_automation_settings",
     json.dumps({"started_at": TS, "ended_at": TS, "automation_name": "light_dark_cycle",
                 "settings": SETTINGS_BLOB}),
     "led_automation_settings",
     {"started_at": STORED, "ended_at": STORED, "automation_name": "light_dark_cycle"}),
    ("temperature_automation/temperature_automation_settings",
     json.dumps({"started_at": TS, "ended_at": None, "automation_name": "thermostat",
                 "settings": SETTINGS_BLOB}),
     "temperature_automation_settings", {"automation_name": "thermostat"}),
    ("dosing_automation/latest_event",
     json.dumps({"event_name": "DilutionEvent", "message": "exchanged 1 mL",
                 "data": {"volume": 1.0}}),
     "dosing_automation_events",
     {"event_name": "DilutionEvent", "message": "exchanged 1 mL", "data": '{"volume": 1.0}'}),
    ("led_automation/latest_event", json.dumps({"event_name": "NoEvent"}),
     "led_automation_events", {"event_name": "NoEvent", "message": None, "data": None}),
    ("temperature_automation/latest_event",
     json.dumps({"event_name": "UpdatedHeaterDC", "message": "delta_dc=1.3", "data": {}}),
     "temperature_automation_events", {"event_name": "UpdatedHeaterDC", "data": "{}"}),
    ("od_blank/mean/2", od("2", 0.01), "od_blanks",
     {"timestamp": STORED, "channel": "2", "angle": 90, "od_reading": 0.01}),
    ("od_reading/relative_intensity_of_ir_led",
     json.dumps({"relative_intensity_of_ir_led": 0.98, "timestamp": TS}),
     "ir_led_intensities", {"timestamp": STORED, "relative_intensity": 0.98}),
    ("pwms/dc", json.dumps({"17": 30.0, "16": 5, "18": 0.0}), "pwm_dcs",
     {"channel_1": 30.0, "channel_2": None, "channel_3": 5.0, "channel_4": None,
      "channel_5": 0.0}),
    ("experiment_profile/profile.yaml/experiment_profile_name", "demo profile",
     "experiment_profile_runs", {"experiment_profile_name": "demo profile", "experiment": EXP}),
]  # fmt: skip

INGEST_TIME_TABLES = {
    "alt_media_fractions",
    "liquid_volumes",
    "pwm_dcs",
    "dosing_automation_events",
    "led_automation_events",
    "temperature_automation_events",
}


def growth(index: int, *, experiment: str = EXP) -> tuple[str, str]:
    stamp = datetime.fromtimestamp(1_767_268_800 + index / 1000, UTC).isoformat()
    return (
        topic("growth_rate_calculating/growth_rate", experiment=experiment),
        json.dumps({"growth_rate": index / 10, "timestamp": stamp}),
    )


async def test_every_topic_becomes_its_row_once(
    broker: Mosquitto, ingest_db: Database, start_ingester: StartIngester
) -> None:
    """Each topic of §9 should land in its table once, with Pioreactor's column values."""
    ingester = await start_ingester()
    before = datetime.now(UTC)
    await publish_all(broker.port, [(topic(rest), payload) for rest, payload, _, _ in CASES])
    await wait_until(lambda: ingester.status().rows_written >= len(CASES))
    await ingester.stop()
    after = datetime.now(UTC)

    for rest, _, table, expected in CASES:
        found = await rows(ingest_db, f"SELECT * FROM {table}")
        assert len(found) == 1, (rest, found)
        row = found[0]
        assert {key: row[key] for key in expected} == expected, rest
        if table != "experiment_profile_runs":
            assert (row["experiment"], row["pioreactor_unit"]) == (EXP, "pio01")
        if table in INGEST_TIME_TABLES:
            assert before <= parse_timestamp(row["timestamp"]) <= after
            assert row["timestamp"].endswith("Z") and len(row["timestamp"]) == 24
    status = ingester.status()
    assert status.errors == 0
    assert status.rows_written == len(CASES)
    # The schema's triggers fill the activity table from the readings the ingester wrote.
    activity = await rows(ingest_db, "SELECT * FROM pioreactor_unit_activity_data")
    by_time = {row["timestamp"]: row for row in activity}
    assert by_time[STORED]["od_reading"] == 0.05
    assert by_time["2026-01-01T12:00:00.500Z"]["growth_rate"] == 0.31


async def test_bad_payloads_are_counted_and_skipped(
    broker: Mosquitto, ingest_db: Database, start_ingester: StartIngester
) -> None:
    """A bad payload should cost only itself: the good ones around it are stored."""
    ingester = await start_ingester()
    gr = "growth_rate_calculating/growth_rate"
    await publish_all(
        broker.port,
        [
            growth(1),
            (topic(gr), "not json"),
            (topic(gr), json.dumps({"growth_rate": "fast", "timestamp": TS})),
            (topic(gr), json.dumps({"growth_rate": 0.1, "timestamp": "2026-01-01T12:00:00"})),
            (topic("od_reading/od1"), od("7", 0.1)),
            (topic("led_change_events"), json.dumps({"channel": "E", "intensity": 1})),
            growth(2),
        ],
    )
    await wait_until(lambda: ingester.status().errors == 5 and ingester.status().pending == 0)
    assert await wait_for_count(ingest_db, "growth_rates", 2) == 2
    assert await count(ingest_db, "od_readings") == 0
    assert [row["rate"] for row in await rows(ingest_db, "SELECT rate FROM growth_rates")] == [
        0.1,
        0.2,
    ]


async def test_rows_the_database_refuses_do_not_sink_their_batch(ingest_db: Database) -> None:
    """If the database refuses a row the parser let through, the rest of its batch is kept."""
    good = (EXP, "pio01", STORED, 0.1, 90, 1)
    bad = (EXP, "pio01", STORED, 0.1, 90, 9)  # channel CHECK (1..4)
    result = await ingest_db.write(lambda c: write_batch(c, {OD_READINGS: [good, bad, good]}))
    assert result.rows == {"od_readings": 2}
    assert len(result.refused) == 1
    assert await count(ingest_db, "od_readings") == 2


async def test_testing_experiments_retained_and_empty_messages_are_not_stored(
    broker: Mosquitto, ingest_db: Database, start_ingester: StartIngester
) -> None:
    """`_testing_` experiments, retained copies and empty payloads are never stored."""
    await publish_all(broker.port, [growth(1, experiment="old")], retain=True)
    ingester = await start_ingester()
    await publish_all(
        broker.port,
        [
            growth(2, experiment="_testing_exp"),
            (topic("logs/app/info", experiment="_testing_x"), json.dumps({"message": "m"})),
            (topic("growth_rate_calculating/growth_rate"), ""),
            growth(3),
        ],
    )
    await wait_until(lambda: ingester.status().messages_received >= 5)
    await ingester.stop()
    assert [row["experiment"] for row in await rows(ingest_db, "SELECT * FROM growth_rates")] == [
        EXP
    ]
    assert await count(ingest_db, "logs") == 0
    status = ingester.status()
    assert (status.messages_ignored, status.errors) == (4, 0)


async def test_broker_restart_loses_nothing_and_duplicates_nothing(
    broker: Mosquitto, ingest_db: Database, start_ingester: StartIngester
) -> None:
    """Messages published while the ingester is reconnecting wait in its persistent session."""
    ingester = await start_ingester()
    await publish_all(broker.port, [growth(i) for i in range(500)])
    assert await wait_for_count(ingest_db, "growth_rates", 500) == 500

    broker.stop()
    await wait_until(lambda: not ingester.status().connected)
    restarted = Mosquitto(broker.directory, port=broker.port)
    restarted.start()
    try:
        # The ingester may not be back yet: the broker queues these for its session.
        await publish_all(broker.port, [growth(i) for i in range(500, 1000)])
        assert await wait_for_count(ingest_db, "growth_rates", 1000) == 1000
        await wait_until(lambda: ingester.status().connected)
        await ingester.stop()
    finally:
        restarted.stop()
    assert await count(ingest_db, "growth_rates") == 1000
    assert ingester.status().rows_written == 1000
    distinct = await rows(ingest_db, "SELECT COUNT(DISTINCT timestamp) AS n FROM growth_rates")
    assert distinct[0]["n"] == 1000


async def test_a_stopped_ingester_finds_its_messages_queued(
    broker: Mosquitto, ingest_db: Database, start_ingester: StartIngester
) -> None:
    """While the ingester is down its session collects messages; the next one stores them."""
    first = await start_ingester()
    await first.stop()
    await publish_all(broker.port, [growth(i) for i in range(300)])
    await start_ingester()
    assert await wait_for_count(ingest_db, "growth_rates", 300) == 300


async def test_counters_reach_the_table_mqtt_and_the_api(
    broker: Mosquitto,
    settings: LeaderSettings,
    client: httpx.AsyncClient,
    start_ingester: StartIngester,
) -> None:
    """The leader's GET /unit_api/ingester and the retained stats topic show the counters."""
    assert (await client.get("/unit_api/ingester")).status_code == 404
    database = Database(settings.database_path, migrations=app_migrations(), foreign_keys=False)
    await database.open()
    try:
        ingester = await start_ingester(database)
        state_topic = f"pioreactor/{LEADER}/$experiment/mqtt_to_db_streaming/$state"
        assert await retained(broker.port, state_topic) == "ready"
        await publish_all(broker.port, [growth(i) for i in range(10)] + [(topic("pwms/dc"), "[")])
        await wait_until(lambda: ingester.status().rows_written == 10)
        stats = await retained(
            broker.port,
            f"pioreactor/{LEADER}/$experiment/mqtt_to_db_streaming/stats",
            until=lambda s: s["rows_written"] == 10,
        )
        assert stats["errors"] == 1
        await ingester.stop()
        assert await retained(broker.port, state_topic) == "disconnected"
    finally:
        await database.close()

    response = await client.get("/unit_api/ingester")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["messages_received"] == 11
    assert body["rows_written"] == 10
    assert body["rows_by_table"] == {"growth_rates": 10}
    assert body["errors"] == 1
    assert body["pending"] == 0
    assert body["last_message_at"].endswith("Z")


@pytest.mark.parametrize("rest", ["od_reading/od5", "od_reading/ods", "stirring/target_rpm"])
async def test_topics_outside_the_table_are_not_subscribed(rest: str) -> None:
    from pioleader.ingester.topics import route

    assert route(rest) is None
