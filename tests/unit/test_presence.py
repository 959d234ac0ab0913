"""A unit's presence on MQTT (monitor ``$state`` and ``versions``), as the UI reads it."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from pioleader import __version__
from pioleader.broker import Mosquitto
from pioleader.bus import MqttBus
from pioleader.settings import MqttSettings
from pioleader.unit.presence import Presence, monitor_will
from tests.mqtt import retained

STATE = "pioreactor/pio01/$experiment/monitor/$state"
VERSIONS = "pioreactor/pio01/$experiment/monitor/versions"


async def test_unit_announces_itself(worker_app: FastAPI, broker: Mosquitto) -> None:
    """It should publish retained ready and versions while up, and disconnected at a clean
    stop."""
    async with worker_app.router.lifespan_context(worker_app):
        transport = httpx.ASGITransport(app=worker_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pio01.test") as c:
            assert (await c.get("/unit_api/health")).status_code == 200
            assert await retained(broker.port, STATE, until=lambda v: v == "ready") == "ready"
            versions = await retained(broker.port, VERSIONS)
            assert versions["app"] == __version__
    assert await retained(broker.port, STATE, until=lambda v: v == "disconnected")


async def test_announced_again_after_a_broker_restart(broker: Mosquitto, tmp_path: Path) -> None:
    """It should announce the unit again when a broker that lost everything comes back."""
    bus = MqttBus(
        MqttSettings(port=broker.port), client_id="presence-test", will=monitor_will("pio01")
    )
    await bus.start()
    Presence(bus, "pio01", "1.2.3").start()
    try:
        assert await retained(broker.port, STATE, until=lambda v: v == "ready")
        broker.stop()
        # Same port, no persisted state: nothing retained until the unit says it again.
        empty = Mosquitto(tmp_path / "empty-broker", port=broker.port)
        empty.start()
        try:
            assert (await retained(empty.port, VERSIONS))["app"] == "1.2.3"
            assert await retained(empty.port, STATE) == "ready"
        finally:
            empty.stop()
    finally:
        await bus.stop()
