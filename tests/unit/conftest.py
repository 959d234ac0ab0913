"""A worker app in-process (ASGI), with a real broker and simulated hardware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pioleader.broker import Mosquitto
from pioleader.settings import MqttSettings
from pioleader.unit.services import RecordingLifecycle, UnitServices
from pioleader.worker.app import WorkerOverrides, WorkerSettings, create_worker_app

EXPERIMENT = "exp1"


@pytest.fixture
def lifecycle() -> RecordingLifecycle:
    return RecordingLifecycle()


@pytest.fixture
def worker_app(tmp_path: Path, broker: Mosquitto, lifecycle: RecordingLifecycle) -> FastAPI:
    settings = WorkerSettings(
        name="pio01",
        data_dir=tmp_path / "pio01",
        port=0,
        mqtt=MqttSettings(port=broker.port),
    )
    return create_worker_app(settings, WorkerOverrides(lifecycle=lifecycle))


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
