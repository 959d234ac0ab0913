"""A guided pump calibration through the leader of a real simulated cluster (processes and
broker), and the calibration surviving a reboot of the worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pioleader.net import wait_for_port
from pioleader.unit.culture import Bioreactor, CultureParameters
from pioleader.up import Process, SimulatedCluster
from tests.integration.conftest import running_cluster, task_result

pytestmark = pytest.mark.integration

SESSIONS = "/api/workers/pio01/calibrations/sessions"
DURATIONS = [0.5, 1.0, 1.5]
# What the user's scale shows, a little off the true volume each time.
SCALE_ERRORS = [1.01, 0.99, 1.005]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    """One worker, without the demo jobs: the pump is all this test needs."""
    with running_cluster(tmp_path / "cluster", workers=1) as cluster:
        yield cluster


async def active_pump_calibration(api: httpx.AsyncClient) -> dict[str, Any]:
    result = await task_result(api, await api.get("/api/workers/pio01/active_calibrations"))
    assert result["pio01"]["ok"], result
    calibration: dict[str, Any] = result["pio01"]["value"]["media_pump"]
    return calibration


def restart(cluster: SimulatedCluster, name: str) -> None:
    """Kill the worker outright and start it again on its data directory and port."""
    worker = next(p for p in cluster.processes if p.name == name)
    os.killpg(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait()
    again = subprocess.Popen(
        worker.popen.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    cluster.processes.append(Process(name, again))
    wait_for_port(cluster.worker_ports[name], timeout=30)


async def inputs(api: httpx.AsyncClient, session_id: str, **values: Any) -> httpx.Response:
    return await api.post(f"{SESSIONS}/{session_id}/inputs", json={"inputs": values})


async def test_pump_session_on_a_real_cluster_survives_a_worker_restart(
    cluster: SimulatedCluster, api: httpx.AsyncClient
) -> None:
    """It should calibrate the pump within 5 % of its true flow and keep it after a restart."""
    started = await api.post(
        SESSIONS, json={"target_device": "media_pump", "protocol_name": "duration_based"}
    )
    assert started.status_code == 201, started.text
    session_id = started.json()["session"]["session_id"]
    assert (await inputs(api, session_id)).status_code == 200
    assert (await inputs(api, session_id, dc=100, durations_s=DURATIONS)).status_code == 200

    true_flow = Bioreactor(CultureParameters.for_unit("pio01")).pump_flow("media", 100)
    for duration, error in zip(DURATIONS, SCALE_ERRORS, strict=True):
        began = time.monotonic()
        ran = await inputs(api, session_id)
        assert ran.status_code == 200 and ran.json()["step"]["step_id"] == "record_volume"
        assert time.monotonic() - began >= duration  # the step waited the pump run out
        wrong = await inputs(api, session_id, volume_ml="lots")
        assert wrong.status_code == 400 and "'volume_ml' must be a number" in wrong.json()["error"]
        recorded = await inputs(api, session_id, volume_ml=true_flow * duration * error)
        assert recorded.status_code == 200, recorded.text
    assert recorded.json()["session"]["status"] == "complete"

    calibration = await active_pump_calibration(api)
    slope = calibration["curve_data_"]["coefficients"][0]
    assert abs(slope - true_flow) / true_flow < 0.05, (slope, true_flow)
    name = calibration["calibration_name"]
    stored = cluster.data_dir / "units/pio01/storage/calibrations/media_pump" / f"{name}.yaml"
    assert stored.is_file()

    await asyncio.to_thread(restart, cluster, "pio01")
    calibration = await active_pump_calibration(api)
    assert calibration["calibration_name"] == name and calibration["is_active"] is True
