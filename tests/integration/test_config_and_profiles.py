"""The simulated cluster as real processes: a shared config change reaches the workers over
HTTP (one of them down, then back and caught up) and drives the next job; a profile run by the
leader starts, changes and stops a job on a worker in order, at its (sped-up) times."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import httpx
import pytest

from pioleader.net import wait_for_port
from pioleader.settings import load_leader_settings
from pioleader.up import DEMO_EXPERIMENT, SimulatedCluster
from tests.integration.conftest import poll_until_done, running_cluster
from tests.mqtt import retained
from tests.profiles.samples import TIMED

pytestmark = pytest.mark.integration

E = DEMO_EXPERIMENT


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    """Two workers; one that missed a config change is sent it again within half a second."""
    data_dir = tmp_path / "cluster"
    load_leader_settings(data_dir).config_files.set_shared_values(
        {("pioleader", "config_sync_interval_seconds"): "0.5"}
    )
    with running_cluster(data_dir, workers=2) as cluster:
        yield cluster


def worker_config(cluster: SimulatedCluster, unit: str) -> str:
    return (cluster.data_dir / "units" / unit / "config.ini").read_text()


async def eventually(check, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_shared_config_reaches_workers_and_a_returning_one_catches_up(
    cluster: SimulatedCluster, api: httpx.AsyncClient
) -> None:
    """It should push a change to pio01, report pio02 (down) as pending, push it to pio02 once
    it is back, and the next stirring job on pio02 uses the new default."""
    worker = next(p for p in cluster.processes if p.name == "pio02")
    os.killpg(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait()
    text = (await api.get("/api/config/shared")).text
    code = text.replace("initial_target_rpm=500", "initial_target_rpm=321")

    answer = await api.patch("/api/config/shared", json={"code": code})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "pending" and body["synced"] == ["pio01"]
    assert list(body["pending"]) == ["pio02"]
    assert "initial_target_rpm=321" in worker_config(cluster, "pio01")
    assert "initial_target_rpm=321" not in worker_config(cluster, "pio02")
    merged = (await api.get("/api/config/units/$broadcast")).json()
    assert merged["configs"]["pio01"]["stirring.config"]["initial_target_rpm"] == "321"
    assert merged["configs"]["leader"]["stirring.config"]["initial_target_rpm"] == "321"
    assert merged["errors"]["pio02"]["error"]["kind"] == "connection_error"

    port = cluster.worker_ports["pio02"]
    cluster._spawn(
        "pio02",
        [
            "worker",
            "--name",
            "pio02",
            "--port",
            str(port),
            "--data-dir",
            str(cluster.data_dir / "units" / "pio02"),
        ],
    )
    wait_for_port(port, timeout=30)
    await eventually(lambda: "initial_target_rpm=321" in worker_config(cluster, "pio02"))

    started = await api.post(
        f"/api/workers/pio02/jobs/run/job_name/stirring/experiments/{E}", json={}
    )
    done = await poll_until_done(api, started.json()["result_url_path"])
    assert done["result"]["pio02"]["ok"], done
    assert cluster.broker is not None
    target = await retained(cluster.broker.port, f"pioreactor/pio02/{E}/stirring/target_rpm")
    assert target == 321.0
    history = (await api.get("/api/config/shared/history")).json()
    assert "initial_target_rpm=321" in history[0]["data"]


SPEEDUP = 720  # one profile hour in five seconds


async def test_profile_run_drives_a_worker_job_in_order_at_its_times(
    cluster: SimulatedCluster, api: httpx.AsyncClient
) -> None:
    """It should start stirring on the workers, change its target after half a profile hour,
    stop it after one, show the run under running and recent, and log each action."""
    assert cluster.broker is not None
    seen: list[tuple[float, str, str]] = []
    ready = asyncio.Event()

    async def watch() -> None:
        async with aiomqtt.Client("127.0.0.1", cluster.broker.port) as client:  # type: ignore[union-attr]
            await client.subscribe(f"pioreactor/pio01/{E}/stirring/+", qos=1)
            ready.set()
            async for message in client.messages:
                if not message.retain:
                    payload = bytes(message.payload).decode()  # type: ignore[arg-type]
                    seen.append((time.monotonic(), str(message.topic).rsplit("/", 1)[1], payload))

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(ready.wait(), 10)
    created = await api.post(
        "/api/experiment_profiles", json={"filename": "integration.yaml", "body": TIMED}
    )
    assert created.status_code == 200, created.text

    began = time.monotonic()
    accepted = await api.post(
        "/unit_api/jobs/run/job_name/experiment_profile",
        json={
            "args": ["execute", "integration.yaml", E],
            "env": {"EXPERIMENT": E},
            "options": {"speedup": SPEEDUP},
        },
    )
    assert (await poll_until_done(api, accepted.json()["result_url_path"]))["status"] == "succeeded"
    running = (await api.get(f"/api/experiments/{E}/experiment_profiles/running")).json()
    assert running[0]["settings"]["experiment_profile_name"] == "timed"

    def stopped() -> bool:
        return any(topic == "$state" and value == "disconnected" for _, topic, value in seen)

    try:
        await eventually(stopped, within=30)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    def first(topic: str, value: str) -> float:
        return next(t for t, name, v in seen if name == topic and v == value) - began

    started, changed, ended = (
        first("$state", "ready"),
        first("target_rpm", "500.0"),
        first("$state", "disconnected"),
    )
    assert started < changed < ended
    assert started < 2.5
    assert abs(changed - 2.5) < 1.5 and abs(ended - 5.0) < 1.5, (started, changed, ended)

    async def profile_ended() -> bool:
        path = f"/api/experiments/{E}/experiment_profiles/running"
        return (await api.get(path)).json() == []

    deadline = time.monotonic() + 10
    while not await profile_ended():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    recent = (await api.get(f"/api/experiments/{E}/experiment_profiles/recent")).json()
    assert [run["experiment_profile_name"] for run in recent] == ["timed"]
    deadline = time.monotonic() + 10
    while True:
        logs = (await api.get(f"/api/experiments/{E}/logs")).json()
        messages = " | ".join(entry["message"] for entry in logs)
        if "pio01 stirring: stop" in messages:
            break
        assert time.monotonic() < deadline, messages
        await asyncio.sleep(0.1)
    assert "pio01 stirring: start" in messages and "pio01 stirring: update" in messages
