"""Fixtures that start real processes on free ports: mosquitto and the leader.

They install nothing (``make test`` installs mosquitto); they only start, stop and kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.net import free_port, wait_for_port
from pioleader.settings import load_leader_settings
from pioleader.up import SimulatedCluster


class LeaderProcess:
    """``pioleader leader`` as a subprocess with its own data directory."""

    def __init__(self, data_dir: Path, mqtt_port: int, extra: dict[tuple[str, str], str]) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        settings = load_leader_settings(data_dir)
        settings.config_files.set_shared_values(
            {
                ("ui", "port"): str(self.port),
                ("mqtt", "broker_port"): str(mqtt_port),
                **extra,
            }
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.data_dir / "leader.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pioleader", "leader", "--data-dir", str(self.data_dir)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


@pytest.fixture
def start_leader(tmp_path: Path, broker: Mosquitto) -> Iterator[Any]:
    started: list[LeaderProcess] = []

    def start(extra: dict[tuple[str, str], str] | None = None) -> LeaderProcess:
        leader = LeaderProcess(tmp_path / "leader", broker.port, extra or {})
        leader.start()
        started.append(leader)
        return leader

    yield start
    for leader in started:
        leader.kill()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def poll_until_done(http: httpx.AsyncClient, url: str, *, within: float = 30) -> dict:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        response = await http.get(url)
        if response.status_code == 200:
            body: dict = response.json()
            return body
        assert response.status_code == 202, response.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"task at {url} did not finish within {within} s")


@contextlib.contextmanager
def running_cluster(data_dir: Path, workers: int) -> Iterator[SimulatedCluster]:
    """``pioleader up`` in this process, on free ports, stopped on exit."""
    cluster = SimulatedCluster(
        data_dir=data_dir,
        workers=workers,
        port=free_port(),
        mqtt_port=free_port(),
        mqtt_ws_port=free_port(),
        log_level="warning",
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    """Mosquitto, the ingester, the leader and two workers as real processes."""
    with running_cluster(tmp_path / "cluster", workers=2) as cluster:
        yield cluster


@pytest.fixture
async def api(cluster: SimulatedCluster) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://127.0.0.1:{cluster.leader_port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        yield c


async def task_result(api: httpx.AsyncClient, response: httpx.Response) -> dict:
    """The result of a task that must succeed."""
    assert response.status_code == 202, response.text
    done = await poll_until_done(api, response.json()["result_url_path"])
    assert done["status"] == "succeeded", done
    result: dict = done["result"]
    return result


def mqtt_port(cluster: SimulatedCluster) -> int:
    assert cluster.broker is not None
    return cluster.broker.port
