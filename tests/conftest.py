"""Shared fixtures: a leader app in-process on a temporary data directory, with the real
SQLite schema, a recording bus, a controllable clock and fake units at the HTTP edge."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pioleader.app import create_app
from pioleader.broker import Mosquitto
from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.net import free_port
from pioleader.services import Overrides, Services
from pioleader.settings import LeaderSettings, load_leader_settings
from tests.fakes import FakeUnits

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LEADER = "leader"
# Fake units listen on these ports of 127.0.0.1 ([cluster.addresses] in the test config).
UNIT_PORTS = {"pio01": 4101, "pio02": 4102, "pio03": 4103}
LEADER_PORT = 4999


def write_addresses(settings: LeaderSettings) -> None:
    settings.config_files.set_shared_values(
        {("cluster.addresses", unit): f"127.0.0.1:{port}" for unit, port in UNIT_PORTS.items()}
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real mosquitto on a free port (installed by `make test`, never by the fixture)."""
    mosquitto = Mosquitto(tmp_path / "mosquitto", port=free_port())
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> LeaderSettings:
    settings = load_leader_settings(data_dir)
    write_addresses(settings)
    # No background config catch-up: tests call it when they mean to.
    return replace(settings, task_result_ttl_seconds=3600, config_sync_interval_seconds=0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def units() -> FakeUnits:
    return FakeUnits()


@pytest.fixture
def app(
    settings: LeaderSettings, clock: ManualClock, bus: RecordingBus, units: FakeUnits
) -> FastAPI:
    return create_app(settings, Overrides(clock=clock, bus=bus, unit_transport=units))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://leader.test") as c:
            yield c


@pytest.fixture
def services(app: FastAPI, client: httpx.AsyncClient) -> Services:
    services: Services = app.state.services
    return services


async def settle(services: Services) -> None:
    """Wait for every background task and fire-and-forget request to finish."""
    await services.tasks.wait_idle()


async def poll_task(
    client: httpx.AsyncClient, services: Services, accepted: httpx.Response
) -> dict:
    """Let the task finish, then read its final status through the API."""
    assert accepted.status_code == 202, accepted.text
    await settle(services)
    final = await client.get(accepted.json()["result_url_path"])
    assert final.status_code == 200, final.text
    body: dict = final.json()
    return body


async def add_worker(client: httpx.AsyncClient, unit: str, **model: str) -> None:
    response = await client.put(
        "/api/workers",
        json={
            "pioreactor_unit": unit,
            "model_name": "pioreactor_40ml",
            "model_version": "1.5",
            **model,
        },
    )
    assert response.status_code in (200, 201), response.text


async def create_experiment(client: httpx.AsyncClient, name: str, **extra: object) -> dict:
    response = await client.post("/api/experiments", json={"experiment": name, **extra})
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body
