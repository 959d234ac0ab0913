"""growth_rate_calculating wired to od_reading over the real broker."""

from __future__ import annotations

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.unit.hardware import SimulatedHardware
from pioleader.unit.services import UnitServices
from tests.mqtt import Collector, retained
from tests.unit.conftest import EXPERIMENT, job_ended, run_job

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
        payloads = await estimates.until(4)
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
