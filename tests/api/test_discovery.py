"""Discovery and worker setup through the leader, with announcements and worker starts faked
at the edge (mDNS itself is tested in tests/cluster/test_discovery.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from pioleader.app import create_app
from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.cluster.discovery import Announced
from pioleader.launcher import LaunchFailed
from pioleader.services import Overrides, Services
from pioleader.settings import LeaderSettings
from tests.api.test_system import assert_error
from tests.conftest import add_worker
from tests.fakes import FakeUnits


@dataclass
class FakeDiscovery:
    announced: list[Announced] = field(default_factory=list)

    async def browse(self) -> list[Announced]:
        return sorted(self.announced, key=lambda a: a.pioreactor_unit)

    async def aclose(self) -> None:
        return None


@dataclass
class FakeLauncher:
    port: int = 4188
    fail: bool = False
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)

    async def launch(self, name: str, model: tuple[str, str]) -> int:
        if self.fail:
            raise LaunchFailed("exited with code 1")
        self.started.append(name)
        return self.port

    async def stop(self, name: str) -> None:
        self.stopped.append(name)

    async def close(self) -> None:
        return None


@pytest.fixture
def discovery() -> FakeDiscovery:
    return FakeDiscovery()


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def app(
    settings: LeaderSettings,
    clock: ManualClock,
    bus: RecordingBus,
    units: FakeUnits,
    discovery: FakeDiscovery,
    launcher: FakeLauncher,
) -> FastAPI:
    return create_app(
        settings,
        Overrides(
            clock=clock, bus=bus, unit_transport=units, discovery=discovery, launcher=launcher
        ),
    )


def announced(name: str, port: int) -> Announced:
    return Announced(name, "127.0.0.1", port, "pioreactor_40ml", "1.5", "0.1.0")


def healthy(name: str):  # type: ignore[no-untyped-def]
    return lambda request: httpx.Response(200, json={"pioreactor_unit": name, "utc_time": "x"})


SETUP = {"name": "pio07", "model": "pioreactor_40ml", "version": "1.5"}


async def test_discover_lists_workers_outside_the_inventory(
    client: httpx.AsyncClient, discovery: FakeDiscovery
) -> None:
    """It should list announced workers, leaving out registered ones and the leader."""
    await add_worker(client, "pio01")
    discovery.announced = [
        announced(n, 4000 + i) for i, n in enumerate(["pio01", "pio07", "leader"])
    ]
    response = await client.get("/api/workers/discover")
    assert response.status_code == 200
    assert response.json() == [
        {
            "pioreactor_unit": "pio07",
            "address": "127.0.0.1",
            "port": 4001,
            "model_name": "pioreactor_40ml",
            "model_version": "1.5",
            "version": "0.1.0",
        }
    ]


async def test_setup_an_announced_worker(
    client: httpx.AsyncClient, services: Services, discovery: FakeDiscovery, units: FakeUnits
) -> None:
    """It should point the address book at the announced worker, check it, and register it."""
    discovery.announced = [announced("pio07", 4177)]
    units.handlers[4177] = healthy("pio07")
    response = await client.post("/api/workers/setup", json=SETUP)
    assert response.status_code == 200, response.text
    assert response.json() == {"msg": "Worker pio07 added successfully."}
    worker = (await client.get("/api/workers/pio07")).json()
    assert (worker["model_name"], worker["model_version"]) == ("pioreactor_40ml", "1.5")
    assert await services.directory.base_url("pio07") == "http://127.0.0.1:4177"
    assert_error(await client.post("/api/workers/setup", json=SETUP), 409)


async def test_setup_failures_leave_nothing_behind(
    client: httpx.AsyncClient,
    services: Services,
    discovery: FakeDiscovery,
    launcher: FakeLauncher,
    units: FakeUnits,
) -> None:
    """It should answer 404 with the reason, restore the address book, stop what it started,
    and register nothing."""
    config = services.settings.config_files.shared_path
    before = config.read_text()
    # Started for the purpose, but something else answers on its port.
    units.handlers[launcher.port] = healthy("someone-else")
    error = assert_error(await client.post("/api/workers/setup", json=SETUP), 404)
    assert error["error"] == "Failed to add worker pio07."
    assert "answered as 'someone-else'" in error["cause"]
    assert launcher.started == launcher.stopped == ["pio07"]
    assert config.read_text() == before
    assert (await client.get("/api/workers/pio07")).status_code == 404

    # Given an address where nothing answers.
    units.down.add(services.settings.port)  # no port given: the unit's default port
    error = assert_error(
        await client.post("/api/workers/setup", json={**SETUP, "ipv4_address": "127.0.0.1"}), 404
    )
    assert "did not answer" in error["cause"]
    assert config.read_text() == before

    launcher.fail = True
    error = assert_error(await client.post("/api/workers/setup", json=SETUP), 404)
    assert "did not start: exited with code 1" in error["cause"]


async def test_setup_without_a_launcher(
    settings: LeaderSettings, clock: ManualClock, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should say why it cannot add a worker that is nowhere to be found."""
    app = create_app(
        settings, Overrides(clock=clock, bus=bus, unit_transport=units, discovery=FakeDiscovery())
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://leader.test") as c:
            error = assert_error(await c.post("/api/workers/setup", json=SETUP), 404)
    assert "does not start simulated workers" in error["cause"]


async def test_setup_validation(client: httpx.AsyncClient) -> None:
    """It should refuse bad names, unknown models and addresses that are not IPv4."""
    for body, fragment in [
        ({**SETUP, "name": "bad name!"}, "name"),
        ({**SETUP, "name": "$broadcast"}, "name"),
        ({**SETUP, "model": "toaster"}, "model_name"),
        ({**SETUP, "ipv4_address": "::1"}, "ipv4_address"),
        ({**SETUP, "ipv4_address": "999.1.1.1"}, "ipv4_address"),
        ({"name": "pio07"}, "model"),
    ]:
        error = assert_error(await client.post("/api/workers/setup", json=body), 400)
        assert fragment in error["cause"], (body, error)
