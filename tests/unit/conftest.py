"""A worker app in-process (ASGI), with a real broker and simulated hardware."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pioleader.broker import Mosquitto
from pioleader.clock import SystemClock
from pioleader.settings import MqttSettings
from pioleader.unit.hardware import CultureParameters, SimulatedHardware
from pioleader.unit.services import RecordingLifecycle, UnitServices
from pioleader.worker.app import WorkerOverrides, WorkerSettings, create_worker_app

EXPERIMENT = "exp1"
PARAMS = CultureParameters.for_unit("pio01", capacity_ml=40.0)
# Pumps "calibrated": the config's mL/s equal the model's true flow.
CALIBRATED_PUMPS = [
    ["pumps", f"{pump}_ml_per_second", str(flow)]
    for pump, flow in zip(("media", "alt_media", "waste"), PARAMS.pump_flow_ml_per_s, strict=True)
]


@pytest.fixture
def lifecycle() -> RecordingLifecycle:
    return RecordingLifecycle()


@pytest.fixture
def hardware() -> SimulatedHardware:
    """The unit's simulated bioreactor, kept so that tests can look into the vessel."""
    return SimulatedHardware(SystemClock(), PARAMS)


@pytest.fixture
def worker_app(
    tmp_path: Path, broker: Mosquitto, lifecycle: RecordingLifecycle, hardware: SimulatedHardware
) -> FastAPI:
    settings = WorkerSettings(
        name="pio01",
        data_dir=tmp_path / "pio01",
        port=0,
        mqtt=MqttSettings(port=broker.port),
    )
    return create_worker_app(settings, WorkerOverrides(lifecycle=lifecycle, hardware=hardware))


@pytest.fixture
async def unit_client(worker_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with worker_app.router.lifespan_context(worker_app):
        transport = httpx.ASGITransport(app=worker_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pio01.test") as client:
            yield client


@pytest.fixture
def unit(worker_app: FastAPI, unit_client: httpx.AsyncClient) -> UnitServices:
    services: UnitServices = worker_app.state.unit
    return services


async def finished(client: httpx.AsyncClient, unit: UnitServices, accepted: httpx.Response) -> dict:
    """Wait for the task behind a 202 and return its final status body."""
    assert accepted.status_code == 202, accepted.text
    await unit.tasks.wait_idle()
    final = await client.get(accepted.json()["result_url_path"])
    assert final.status_code == 200, final.text
    body: dict = final.json()
    return body


def run_body(**options: object) -> dict:
    return {
        "env": {"EXPERIMENT": EXPERIMENT, "JOB_SOURCE": "test"},
        "options": options,
        "config_overrides": [["stirring.config", "duration_between_updates_seconds", "0.2"]],
    }


async def job_ended(client: httpx.AsyncClient, job_name: str, *, within: float = 15.0) -> None:
    """Wait until ``job_name`` is no longer running on the unit (fails after ``within`` s)."""
    deadline = time.monotonic() + within
    while any(
        j["job_name"] == job_name for j in (await client.get("/unit_api/jobs/running")).json()
    ):
        assert time.monotonic() < deadline, f"{job_name} still running after {within} s"
        await asyncio.sleep(0.05)


async def run_job(
    client: httpx.AsyncClient,
    unit: UnitServices,
    job_name: str,
    config: Sequence[Sequence[str]] = (),
    **options: object,
) -> dict:
    """Start ``job_name`` with ``options`` (pumps calibrated to the model's true flow)."""
    body = {
        "env": {"EXPERIMENT": EXPERIMENT, "JOB_SOURCE": "test"},
        "options": options,
        "config_overrides": [*CALIBRATED_PUMPS, *map(list, config)],
    }
    return await finished(
        client, unit, await client.post(f"/unit_api/jobs/run/job_name/{job_name}", json=body)
    )


def at_optimum(**changes: Any) -> CultureParameters:
    """A culture kept at its optimum temperature (37 ℃ ambient, no heater needed), without
    noise unless asked."""
    return replace(CultureParameters(seed=1, ambient_c=37.0, t_opt_c=37.0, noise=0.0), **changes)


async def assert_refused(
    client: httpx.AsyncClient, job_name: str, options: dict[str, object], field: str
) -> None:
    """Starting ``job_name`` with ``options`` is a 400 naming ``field``; nothing runs."""
    response = await client.post(
        f"/unit_api/jobs/run/job_name/{job_name}",
        json={"env": {"EXPERIMENT": EXPERIMENT}, "options": options},
    )
    assert response.status_code == 400, response.text
    assert field in response.json()["cause"]
    assert (await client.get("/unit_api/jobs/running")).json() == []
