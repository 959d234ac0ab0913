"""The leader as a real process with a real broker: retained assignments, task results across
restarts and kills, and broker outages."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from pioleader.broker import Mosquitto
from tests.integration.conftest import poll_until_done
from tests.mqtt import retained

pytestmark = pytest.mark.integration

WORKER = {"pioreactor_unit": "pio01", "model_name": "pioreactor_40ml", "model_version": "1.5"}


async def setup_assignment(http: httpx.AsyncClient, url: str) -> None:
    assert (
        await http.post(f"{url}/api/experiments", json={"experiment": "exp1"})
    ).status_code == 201
    assert (await http.put(f"{url}/api/workers", json=WORKER)).status_code == 201
    response = await http.put(
        f"{url}/api/experiments/exp1/workers", json={"pioreactor_unit": "pio01"}
    )
    assert response.status_code == 200, response.text


async def test_assignment_is_retained_on_the_broker(start_leader, broker: Mosquitto, http) -> None:
    """It should publish a retained assignment, and a null one when the worker leaves."""
    leader = start_leader()
    await setup_assignment(http, leader.url)
    topic = "pioreactor/pio01/$experiment/assignment"
    message = await retained(broker.port, topic)
    assert message["pioreactor_unit"] == "pio01"
    assert message["experiment"] == "exp1"
    assert message["assigned_at"].endswith("Z")

    removed = await http.delete(f"{leader.url}/api/experiments/exp1/workers/pio01")
    assert removed.status_code == 200
    cleared = await retained(broker.port, topic, until=lambda m: m["experiment"] is None)
    assert cleared["assigned_at"] is None


async def test_assignment_outlives_a_broker_outage(start_leader, broker: Mosquitto, http) -> None:
    """It should accept assignments while the broker is down and publish them on reconnect."""
    leader = start_leader()
    assert (
        await http.post(f"{leader.url}/api/experiments", json={"experiment": "exp1"})
    ).status_code == 201
    assert (await http.put(f"{leader.url}/api/workers", json=WORKER)).status_code == 201
    broker.stop()
    response = await http.put(
        f"{leader.url}/api/experiments/exp1/workers", json={"pioreactor_unit": "pio01"}
    )
    assert response.status_code == 200, response.text
    # A new, empty broker on the same port: it knows nothing until the leader republishes.
    fresh = Mosquitto(broker.directory.parent / "fresh-broker", port=broker.port)
    fresh.start()
    try:
        message = await retained(fresh.port, "pioreactor/pio01/$experiment/assignment", within=20)
        assert message["experiment"] == "exp1"
    finally:
        fresh.stop()


async def test_task_results_survive_restart_and_kill(start_leader, http) -> None:
    """It should keep finished results across a restart and fail tasks cut off by a kill."""

    connections: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # until the leader hangs up; never answers

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    silent_port = server.sockets[0].getsockname()[1]
    leader = start_leader(
        {
            ("cluster.addresses", "pio01"): f"127.0.0.1:{silent_port}",
            ("pioleader", "unit_write_timeout_seconds"): "60",
        }
    )
    try:
        await setup_assignment(http, leader.url)
        # This fan-out waits on the silent unit for up to 60 s: the kill will cut it off.
        pending = await http.delete(f"{leader.url}/api/experiments/exp1/workers")
        assert pending.status_code == 202
        url = f"{leader.url}{pending.json()['result_url_path']}"
        deadline = time.monotonic() + 10
        while (await http.get(url)).json()["status"] != "running":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        created = await http.post(f"{leader.url}/api/experiments", json={"experiment": "exp2"})
        assert created.status_code == 201
        removal = await http.delete(f"{leader.url}/api/experiments/exp2")
        finished = await poll_until_done(http, f"{leader.url}{removal.json()['result_url_path']}")
        assert finished["status"] == "succeeded"
        assert finished["result"]["experiment"] == "exp2"

        leader.kill()
        leader.start()

        after = await http.get(f"{leader.url}{removal.json()['result_url_path']}")
        assert after.status_code == 200 and after.json()["result"]["msg"] == "Deleted experiment"
        cut = await http.get(url)
        assert cut.status_code == 200
        assert cut.json()["status"] == "failed"
        assert "stopped" in cut.json()["cause"]
        unknown = await http.get(f"{leader.url}/unit_api/task_results/not-a-task")
        assert unknown.status_code == 404
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
