"""Guided calibration sessions on a unit with simulated hardware: the stirring sweep and the
OD standards protocols, aborts, refusals, and od_reading applying the OD calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pioleader.broker import Mosquitto
from pioleader.clock import SystemClock
from pioleader.settings import MqttSettings
from pioleader.unit.hardware import CultureParameters, SimulatedHardware
from pioleader.unit.services import UnitServices
from pioleader.worker.app import WorkerOverrides, WorkerSettings, create_worker_app
from tests.mqtt import retained
from tests.unit.conftest import EXPERIMENT, finished, run_body

SESSIONS = "/unit_api/calibrations/sessions"


@pytest.fixture
def hardware() -> SimulatedHardware:
    return SimulatedHardware(SystemClock(), CultureParameters.for_unit("pio01"))


@pytest.fixture
def worker_app(tmp_path: Path, broker: Mosquitto, hardware: SimulatedHardware) -> FastAPI:
    settings = WorkerSettings(
        name="pio01", data_dir=tmp_path / "pio01", port=0, mqtt=MqttSettings(port=broker.port)
    )
    return create_worker_app(settings, WorkerOverrides(hardware=hardware))


async def start(client: httpx.AsyncClient, device: str, protocol: str) -> str:
    response = await client.post(
        SESSIONS, json={"target_device": device, "protocol_name": protocol}
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session"]["session_id"]
    return session_id


async def advance(client: httpx.AsyncClient, session_id: str, **inputs: Any) -> dict[str, Any]:
    response = await client.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_stirring_sweep_saves_an_active_dc_to_rpm_line(
    unit_client: httpx.AsyncClient, unit: UnitServices, hardware: SimulatedHardware
) -> None:
    """It should step the stirrer through the duty cycles and fit RPM against them."""
    session_id = await start(unit_client, "stirring", "dc_based")
    await advance(unit_client, session_id)
    swapped = await unit_client.post(
        f"{SESSIONS}/{session_id}/inputs", json={"inputs": {"dc_low": 60, "dc_high": 20}}
    )
    assert swapped.status_code == 400 and "dc_high" in swapped.json()["error"]
    sweep = await advance(unit_client, session_id, dc_low=20, dc_high=50, points=3, settle_s=2)
    assert sweep["step"]["step_type"] == "action" and "35 %" in sweep["step"]["body"]
    done = await advance(unit_client, session_id)
    assert done["session"]["status"] == "complete"
    assert hardware.model.stirrer_duty_cycle == 0.0  # left off
    [calibration] = (await unit_client.get("/unit_api/calibrations/stirring")).json()
    assert calibration["is_active"] is True
    assert calibration["calibration_type"] == "simple_stirring"
    assert calibration["recorded_data"]["x"] == [20.0, 35.0, 50.0]
    rpms = calibration["recorded_data"]["y"]
    assert rpms[0] < rpms[1] < rpms[2]  # the stirrer really ran faster
    slope = calibration["curve_data_"]["coefficients"][0]
    # With 2 s of settling (time constant 1.5 s) the stirrer gets most of the way there.
    assert (
        0.6 * hardware.params.rpm_per_duty_cycle < slope < 1.1 * hardware.params.rpm_per_duty_cycle
    )


async def test_od_standards_then_od_reading_reports_calibrated_od(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    hardware: SimulatedHardware,
    broker: Mosquitto,
) -> None:
    """It should measure each standard placed in the vial, save an od600 calibration for od90,
    and od_reading should then publish the OD600 of a vial rather than its volts."""
    session_id = await start(unit_client, "od90", "standards")
    await advance(unit_client, session_id)
    bad = await unit_client.post(
        f"{SESSIONS}/{session_id}/inputs", json={"inputs": {"pd_channel": "7"}}
    )
    assert bad.status_code == 400 and "'pd_channel' must be one of" in bad.json()["error"]
    answer = await advance(unit_client, session_id, pd_channel="2", ir_led_intensity=80)
    for index, standard in enumerate((0.2, 1.0, 2.0)):
        assert answer["step"]["step_id"] == "place_standard"
        await advance(unit_client, session_id, od600=standard)
        hardware.load_vial(standard)  # the user puts the standard in the vial
        answer = await advance(unit_client, session_id)
        assert answer["step"]["step_id"] == "another"
        if index == 0:
            early = await unit_client.post(
                f"{SESSIONS}/{session_id}/inputs", json={"inputs": {"add_another": False}}
            )
            assert early.status_code == 400 and "two standards" in early.json()["error"]
            wrong = await unit_client.post(
                f"{SESSIONS}/{session_id}/inputs", json={"inputs": {"add_another": "yes"}}
            )
            assert wrong.status_code == 400 and "true or false" in wrong.json()["error"]
        answer = await advance(unit_client, session_id, add_another=index < 2)
    assert answer["session"]["status"] == "complete"
    assert hardware.model.ir_led_intensity == 0.0

    hardware.load_vial(1.5)
    started = await unit_client.post(
        "/unit_api/jobs/run/job_name/od_reading", json=run_body(interval=0.2)
    )
    assert (await finished(unit_client, unit, started))["status"] == "succeeded"
    reading = await retained(
        broker.port, f"pioreactor/pio01/{EXPERIMENT}/od_reading/od2", until=lambda v: v
    )
    assert reading["calibrated"] == 1
    assert reading["od"] == pytest.approx(1.5, rel=0.03)


async def test_abort_switches_off_and_closes_the_session(
    unit_client: httpx.AsyncClient, unit: UnitServices, hardware: SimulatedHardware
) -> None:
    """It should mark the session aborted, stop the device, and take no more inputs."""
    session_id = await start(unit_client, "stirring", "dc_based")
    hardware.set_pwm("stirring", 50.0)  # as if the sweep were under way
    aborted = await unit_client.post(f"{SESSIONS}/{session_id}/abort")
    assert aborted.status_code == 200
    assert aborted.json()["session"]["status"] == "aborted"
    assert aborted.json()["session"]["error"]
    assert hardware.model.stirrer_duty_cycle == 0.0
    after = await unit_client.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": {}})
    assert after.status_code == 409
    assert (await unit_client.post(f"{SESSIONS}/{session_id}/abort")).status_code == 409


async def test_unknown_protocols_and_sessions(unit_client: httpx.AsyncClient) -> None:
    """It should refuse a protocol the device does not have (400) and unknown sessions (404)."""
    for device, protocol in (("stirring", "duration_based"), ("media_pump", "nope")):
        response = await unit_client.post(
            SESSIONS, json={"target_device": device, "protocol_name": protocol}
        )
        assert response.status_code == 400, response.text
        assert "calibration_protocols" in response.json()["remediation"]
    missing = await unit_client.get(f"{SESSIONS}/does-not-exist")
    assert missing.status_code == 404


async def test_an_action_on_a_busy_device_is_refused_and_the_session_stays(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should answer 409 while stirring runs, leaving the session at the sweep step."""
    session_id = await start(unit_client, "stirring", "dc_based")
    await advance(unit_client, session_id)
    await advance(unit_client, session_id, points=2, settle_s=0.1)
    started = await unit_client.post("/unit_api/jobs/run/job_name/stirring", json=run_body())
    assert (await finished(unit_client, unit, started))["status"] == "succeeded"
    busy = await unit_client.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": {}})
    assert busy.status_code == 409 and "stirring is running" in busy.json()["cause"]
    current = (await unit_client.get(f"{SESSIONS}/{session_id}")).json()
    assert current["step"]["step_id"] == "sweep" and current["session"]["status"] == "in_progress"
