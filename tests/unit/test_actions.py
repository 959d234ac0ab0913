"""Pump and LED actions through the unit API: what they do to the vessel, what they publish,
what they refuse."""

from __future__ import annotations

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.unit.hardware import SimulatedHardware
from pioleader.unit.services import UnitServices
from tests.mqtt import Collector, retained
from tests.unit.conftest import EXPERIMENT, assert_refused, job_ended, run_job

TOPIC = f"pioreactor/pio01/{EXPERIMENT}"


async def test_pumps_move_liquid_publish_events_and_book_the_volume(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """Each run should publish its dosing event; the model and the bookkeeping should agree."""
    start = hardware.snapshot().volume_ml
    async with Collector(broker.port, f"{TOPIC}/dosing_events") as events:
        assert (await run_job(unit_client, unit, "add_media", ml=1.5))["status"] == "succeeded"
        await job_ended(unit_client, "add_media")
        assert (await run_job(unit_client, unit, "add_alt_media", ml=0.5))["status"] == "succeeded"
        await job_ended(unit_client, "add_alt_media")
        middle = hardware.snapshot()
        assert (await run_job(unit_client, unit, "remove_waste", ml=4.0))["status"] == "succeeded"
        await job_ended(unit_client, "remove_waste")
        payloads = await events.until(3)

    assert [(p["event"], p["volume_change"], p["source_of_event"]) for p in payloads] == [
        ("add_media", 1.5, "manually"),
        ("add_alt_media", 0.5, "manually"),
        ("remove_waste", 4.0, "manually"),
    ]
    assert all(p["timestamp"].endswith("Z") for p in payloads)
    assert middle.volume_ml == pytest.approx(start + 2.0)
    assert middle.alt_media_fraction == pytest.approx(0.5 / (start + 2.0))
    assert hardware.snapshot().volume_ml == pytest.approx(14.0)  # down to the efflux tube only

    values = (await unit_client.get(f"/unit_api/bioreactor/experiments/{EXPERIMENT}")).json()
    assert values["values"]["current_volume_ml"] == pytest.approx(14.0)
    assert values["values"]["alt_media_fraction"] == pytest.approx(0.5 / 16.0)
    assert values["values"]["cumulative_media_added_ml"] == pytest.approx(1.5)
    assert values["values"]["cumulative_waste_removed_ml"] == pytest.approx(4.0)
    assert await retained(broker.port, f"{TOPIC}/bioreactor/current_volume_ml") == 14.0


async def test_circulate_keeps_the_volume(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """Circulating alt media should exchange liquid without changing the volume."""
    async with Collector(broker.port, f"{TOPIC}/dosing_events") as events:
        done = await run_job(unit_client, unit, "circulate_alt_media", duration=1.0)
        assert done["status"] == "succeeded"
        await job_ended(unit_client, "circulate_alt_media")
        payloads = await events.until(3)
    assert [p["event"] for p in payloads] == ["remove_waste", "add_alt_media", "remove_waste"]
    snapshot = hardware.snapshot()
    assert snapshot.volume_ml == pytest.approx(14.0)
    assert snapshot.alt_media_fraction > 0.03


async def test_led_intensity_sets_channels_and_publishes_changes(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """It should set the LEDs, publish the map retained and one event per changed channel."""
    async with Collector(broker.port, f"{TOPIC}/led_change_events") as events:
        assert (await run_job(unit_client, unit, "led_intensity", C=40, D=0))["status"] == (
            "succeeded"
        )
        payloads = await events.until(1)
        await job_ended(unit_client, "led_intensity")
    assert hardware.led_intensities() == {"A": 0.0, "B": 0.0, "C": 40.0, "D": 0.0}
    assert [(p["channel"], p["intensity"]) for p in payloads] == [("C", 40.0)]  # D unchanged
    intensities = await retained(broker.port, f"{TOPIC}/leds/intensity")
    assert intensities == {"A": 0.0, "B": 0.0, "C": 40.0, "D": 0.0}


@pytest.mark.parametrize(
    ("job_name", "options", "field"),
    [
        ("add_media", {"ml": -1}, "options.ml"),
        ("add_media", {"ml": 1, "duration": 1}, "exactly one"),
        ("add_media", {}, "exactly one"),
        ("add_media", {"ml": "lots"}, "'ml'"),
        ("add_alt_media", {"ml": 30}, "capacity of 40 mL"),
        ("add_media", {"duration": 1000}, "capacity of 40 mL"),
        ("circulate_media", {}, "options.duration"),
        ("led_intensity", {"A": 150}, "options.A"),
        ("led_intensity", {}, "at least one channel"),
    ],
)
async def test_bad_options_are_refused_before_anything_runs(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    hardware: SimulatedHardware,
    job_name: str,
    options: dict[str, object],
    field: str,
) -> None:
    """Bad volumes, ranges and types should get a 400 naming the option; nothing is pumped."""
    before = hardware.snapshot().volume_ml
    await assert_refused(unit_client, job_name, options, field)
    assert hardware.snapshot().volume_ml == before


async def test_self_test_passes_on_a_healthy_unit_and_refuses_a_busy_one(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """Every check should pass on the simulated unit and be published retained."""
    assert (await run_job(unit_client, unit, "self_test"))["status"] == "succeeded"
    await job_ended(unit_client, "self_test", within=30)
    assert await retained(broker.port, f"{TOPIC}/self_test/all_tests_passed") == "True"
    check = "test_positive_correlation_between_rpm_and_stirring"
    assert await retained(broker.port, f"{TOPIC}/self_test/{check}") == "True"

    await run_job(unit_client, unit, "od_reading")
    busy = await run_job(unit_client, unit, "self_test")
    assert busy["status"] == "failed" and "Stop od_reading first" in busy["cause"]
