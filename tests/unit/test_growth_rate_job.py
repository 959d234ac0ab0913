"""growth_rate_calculating wired to od_reading over the real broker."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.unit.hardware import SimulatedHardware
from pioleader.unit.services import UnitServices
from tests.mqtt import Collector, retained
from tests.unit.conftest import EXPERIMENT, finished, job_ended, run_job

TOPIC = f"pioreactor/pio01/{EXPERIMENT}"
FAST = [["growth_rate_calculating.config", "samples_for_od_statistics", "3"]]


async def test_growth_rate_follows_od_readings_and_uses_the_blank(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """It should publish growth_rate and od_filtered payloads once warmed up, after od_blank."""
    hardware.load_vial(0.0)  # media only, as before inoculation
    assert (await run_job(unit_client, unit, "od_blank", n_samples=5))["status"] == "succeeded"
    await job_ended(unit_client, "od_blank")
    hardware.load_vial(0.05, growing=True)
    blank = await retained(broker.port, f"{TOPIC}/od_blank/mean/2")
    assert blank["channel"] == "2" and blank["angle"] == "90" and blank["od"] > 0

    async with Collector(broker.port, f"{TOPIC}/growth_rate_calculating/+") as estimates:
        done = await run_job(unit_client, unit, "growth_rate_calculating", config=FAST)
        assert done["status"] == "succeeded", done
        await run_job(unit_client, unit, "od_reading", interval=0.1)
        payloads = await estimates.until(4, within=30)
    rates = [p for t, p in estimates.messages if t.endswith("/growth_rate")]
    filtered = [p for t, p in estimates.messages if t.endswith("/od_filtered")]
    assert set(rates[0]) == {"growth_rate", "timestamp"} and rates[0]["timestamp"].endswith("Z")
    assert filtered[0]["od_filtered"] == pytest.approx(1.0, abs=0.2)
    assert len(payloads) >= 4


async def test_bad_filter_configuration_refuses_to_start(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    bad = [["growth_rate_calculating.config", "ekf_outlier_std_threshold", "1"]]
    done = await run_job(unit_client, unit, "growth_rate_calculating", config=bad)
    assert done["status"] == "failed" and "> 2" in done["cause"]


async def test_a_restarted_job_keeps_the_experiments_baseline(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    hardware: SimulatedHardware,
) -> None:
    """The normalisation is cached per experiment: after a restart the OD stays relative to
    the first baseline, unless ignore_cache asks for a new one."""
    filtered = f"{TOPIC}/growth_rate_calculating/od_filtered"
    await run_job(unit_client, unit, "od_reading", interval=0.1)

    async def first_od_filtered(**options: object) -> float:
        async with Collector(broker.port, filtered) as estimates:
            deadline = time.monotonic() + 5
            while True:  # a restart within a second of the last start is refused: retry
                done = await run_job(
                    unit_client, unit, "growth_rate_calculating", config=FAST, **options
                )
                if "less than a second" not in str(done.get("error")):
                    break
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert done["status"] == "succeeded", done
            value: float = (await estimates.until(1))[0]["od_filtered"]
        stop = {"job_name": "growth_rate_calculating"}
        await finished(unit_client, unit, await unit_client.post("/unit_api/jobs/stop", json=stop))
        await job_ended(unit_client, "growth_rate_calculating")
        return value

    assert await first_od_filtered() == pytest.approx(1.0, abs=0.1)
    hardware.load_vial(2 * hardware.snapshot().od, growing=True)  # twice the culture
    assert await first_od_filtered() > 1.3  # the old baseline: the signal rose
    assert await first_od_filtered(ignore_cache=True) == pytest.approx(1.0, abs=0.1)
