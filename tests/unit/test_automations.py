"""Automation jobs through the unit API and the real broker: what they publish, what they do to
the vessel, how they treat bad settings."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.unit.hardware import SimulatedHardware
from pioleader.unit.services import UnitServices
from tests.mqtt import Collector, publish, retained
from tests.unit.conftest import EXPERIMENT, assert_refused, finished, run_job

TOPIC = f"pioreactor/pio01/{EXPERIMENT}"
QUICK_TEMPERATURE = [["temperature_automation.config", "seconds_between_readings", "0.2"]]


async def test_thermostat_publishes_temperature_drives_the_heater_and_checks_sets(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    job = f"{TOPIC}/temperature_automation"
    async with Collector(broker.port, f"{job}/temperature_automation_settings") as records:
        done = await run_job(
            unit_client,
            unit,
            "temperature_automation",
            config=QUICK_TEMPERATURE,
            automation_name="thermostat",
            target_temperature=35,
        )
        assert done["status"] == "succeeded", done
        record = (await records.until(1))[0]
    assert record["automation_name"] == "thermostat" and record["ended_at"] is None
    assert json.loads(base64.b64decode(record["settings"])) == {"target_temperature": 35.0}

    reading = await retained(broker.port, f"{job}/temperature")
    assert set(reading) == {"temperature", "timestamp"}
    assert reading["temperature"] == pytest.approx(hardware.snapshot().temperature_c, abs=0.2)
    event = await retained(broker.port, f"{job}/latest_event")
    assert event["event_name"] == "UpdatedHeaterDC" and event["message"].startswith("delta_dc=")
    assert await retained(broker.port, f"{job}/heater_duty_cycle", until=lambda v: v > 0) > 0
    assert await retained(broker.port, f"{job}/automation_name") == "thermostat"

    await publish(broker.port, f"{job}/target_temperature/set", "80")  # out of range: refused
    await publish(broker.port, f"{job}/target_temperature/set", "warm")  # wrong type: refused
    await publish(broker.port, f"{job}/target_temperature/set", "32.5")
    assert await retained(broker.port, f"{job}/target_temperature", until=lambda v: v != 35) == 32.5
    settings = await unit_client.get("/unit_api/jobs/settings/job_name/temperature_automation")
    assert settings.json()["settings"]["target_temperature"] == "32.5"

    stop = await unit_client.post(
        "/unit_api/jobs/stop", json={"job_name": "temperature_automation"}
    )
    assert stop.status_code == 202
    await unit.tasks.wait_idle()
    assert hardware.model.heater_duty_cycle == 0.0  # the heater is left off


async def test_chemostat_doses_and_reports_dilutions(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """Every run should add the exchange volume, remove waste to the efflux tube, and publish
    dosing events matching the model and a DilutionEvent."""
    start = hardware.snapshot().volume_ml
    async with Collector(broker.port, f"{TOPIC}/dosing_events") as events:
        done = await run_job(
            unit_client,
            unit,
            "dosing_automation",
            automation_name="chemostat",
            duration=0.01,
            exchange_volume_ml=0.4,
        )
        assert done["status"] == "succeeded", done
        payloads = await events.until(4)
    assert [(p["event"], p["volume_change"]) for p in payloads[:4]] == [
        ("add_media", 0.4),
        ("remove_waste", 0.8),
        ("add_media", 0.4),
        ("remove_waste", 0.8),
    ]
    assert {p["source_of_event"] for p in payloads} == {"dosing_automation:chemostat"}
    event = await retained(broker.port, f"{TOPIC}/dosing_automation/latest_event")
    assert event == {
        "event_name": "DilutionEvent",
        "message": "exchanged 0.4 mL",
        "data": {"volume_actually_cycled_ml": 0.4},
    }
    assert hardware.snapshot().volume_ml == pytest.approx(start, abs=0.41)
    booked = await retained(broker.port, f"{TOPIC}/dosing_automation/current_volume_ml")
    assert booked == pytest.approx(14.0)


async def test_light_dark_cycle_switches_c_and_d(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    async with Collector(broker.port, f"{TOPIC}/led_change_events") as events:
        done = await run_job(
            unit_client,
            unit,
            "led_automation",
            automation_name="light_dark_cycle",
            light_intensity=30,
        )
        assert done["status"] == "succeeded", done
        payloads = await events.until(2)
    assert sorted((p["channel"], p["intensity"]) for p in payloads) == [("C", 30.0), ("D", 30.0)]
    assert {p["source_of_event"] for p in payloads} == {"led_automation:light_dark_cycle"}
    assert hardware.led_intensities()["C"] == 30.0
    event = await retained(broker.port, f"{TOPIC}/led_automation/latest_event")
    assert event["event_name"] == "ChangedLedIntensity" and "turned on" in event["message"]


@pytest.mark.parametrize(
    ("job_name", "options", "field"),
    [
        ("dosing_automation", {"automation_name": "morbidostat"}, "options.automation_name"),
        ("dosing_automation", {}, "options.automation_name"),
        (
            "dosing_automation",
            {"automation_name": "chemostat", "exchange_volume_ml": -1},
            "options.exchange_volume_ml",
        ),
        ("dosing_automation", {"automation_name": "chemostat", "duration": 0}, "options.duration"),
        (
            "dosing_automation",
            {"automation_name": "chemostat", "target_biomass": 1},
            "options.target_biomass",
        ),
        (
            "dosing_automation",
            {"automation_name": "turbidostat", "biomass_signal": "x"},
            "options.biomass_signal",
        ),
        (
            "temperature_automation",
            {"automation_name": "thermostat", "target_temperature": 99},
            "options.target_temperature",
        ),
        (
            "temperature_automation",
            {"automation_name": "thermostat", "target_temperature": "hot"},
            "'target_temperature'",
        ),
        (
            "led_automation",
            {"automation_name": "light_dark_cycle", "light_intensity": 101},
            "options.light_intensity",
        ),
    ],
)
async def test_bad_automation_options_are_refused(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    job_name: str,
    options: dict[str, object],
    field: str,
) -> None:
    await assert_refused(unit_client, job_name, options, field)


async def test_capabilities_list_every_automation_with_its_options(
    unit_client: httpx.AsyncClient,
) -> None:
    capabilities = (await unit_client.get("/unit_api/capabilities")).json()
    automations = {
        (c["job_name"], c["automation_name"]) for c in capabilities if c["automation_name"]
    }
    assert automations == {
        ("dosing_automation", name)
        for name in ("chemostat", "turbidostat", "pid_morbidostat", "fed_batch", "silent")
    } | {
        ("temperature_automation", "thermostat"),
        ("temperature_automation", "only_record_temperature"),
    } | {
        ("led_automation", "light_dark_cycle"),
        ("led_automation", "silent"),
    }
    chemostat = next(c for c in capabilities if c["automation_name"] == "chemostat")
    assert {o["name"] for o in chemostat["options"]} == {
        "automation_name",
        "duration",
        "exchange_volume_ml",
    }
    assert chemostat["published_settings"]["exchange_volume_ml"]["settable"] is True


async def test_monitor_reports_health_and_answers_blinks(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """Started under $experiment, it should publish the unit's health and count blinks; it
    survives "stop all"."""
    body = {"env": {"EXPERIMENT": "$experiment"}, "options": {}}
    response = await unit_client.post("/unit_api/jobs/run/job_name/monitor", json=body)
    assert (await finished(unit_client, unit, response))["status"] == "succeeded"
    root = "pioreactor/pio01/$experiment/monitor"
    statistics = await retained(broker.port, f"{root}/computer_statistics")
    assert 0 <= statistics["disk_usage_percent"] <= 100
    assert (await retained(broker.port, f"{root}/versions"))["app"]
    assert (await retained(broker.port, f"{root}/voltage_on_pwm_rail"))["voltage"] == 5.0

    await publish(
        broker.port, "pioreactor/$broadcast/$experiment/monitor/flicker_led_response_okay", "1"
    )
    monitor = next(job for job in unit.jobs.running_jobs() if job.job_name == "monitor")
    deadline = asyncio.get_running_loop().time() + 10
    while getattr(monitor, "blinks", 0) == 0:
        assert asyncio.get_running_loop().time() < deadline, "the blink never arrived"
        await asyncio.sleep(0.02)

    await finished(unit_client, unit, await unit_client.post("/unit_api/jobs/stop/all", json={}))
    assert [job.job_name for job in unit.jobs.running_jobs()] == ["monitor"]


async def test_turbidostat_dilutes_when_the_biomass_reaches_its_target(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """On an OD reading at or above the target it should dilute once, then let it settle."""
    async with Collector(broker.port, f"{TOPIC}/dosing_events") as events:
        done = await run_job(
            unit_client,
            unit,
            "dosing_automation",
            automation_name="turbidostat",
            target_biomass=0.0001,  # any culture is above it
            exchange_volume_ml=0.5,
            biomass_signal="od",
        )
        assert done["status"] == "succeeded", done
        await run_job(unit_client, unit, "od_reading", interval=0.2)
        payloads = await events.until(2)
        event = await retained(
            broker.port, f"{TOPIC}/dosing_automation/latest_event", until=lambda v: "data" in v
        )
    assert [(p["event"], p["volume_change"]) for p in payloads[:2]] == [
        ("add_media", 0.5),
        ("remove_waste", 1.0),
    ]
    assert len(payloads) == 2  # the 30 s settling window holds off the next readings
    assert event["event_name"] == "DilutionEvent"
    assert {p["source_of_event"] for p in payloads} == {"dosing_automation:turbidostat"}


async def test_dosing_stops_short_of_the_volume_limit(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """An exchange that would pass max_volume_to_stop should pump nothing and say why."""
    before = hardware.snapshot().volume_ml
    limit = [["dosing_automation.config", "max_volume_to_stop", "14.5"]]
    done = await run_job(
        unit_client,
        unit,
        "dosing_automation",
        config=limit,
        automation_name="chemostat",
        duration=0.01,
        exchange_volume_ml=1.0,
    )
    assert done["status"] == "succeeded", done
    event = await retained(broker.port, f"{TOPIC}/dosing_automation/latest_event")
    assert event["event_name"] == "ErrorOccurred"
    assert "max_volume_to_stop (14.5 mL)" in event["message"]
    assert hardware.snapshot().volume_ml == before
