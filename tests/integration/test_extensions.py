"""Plugins, discovery and backups with real processes: a leader, mosquitto, and a worker that
starts outside the inventory and announces itself over mDNS (on loopback)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.net import free_port, wait_for_port
from tests.integration.conftest import running_cluster, task_result
from tests.mqtt import retained
from tests.plugin_files import build_wheel, write_automation_plugin

pytestmark = pytest.mark.integration

# mDNS on loopback is shared by every process of the machine: names unique to this run keep
# other simulated clusters (other test runs) out of the way.
WORKER = f"w{secrets.token_hex(3)}"
NEW_WORKER = f"w{secrets.token_hex(3)}"
E = "exp-plugins"


class WorkerProcess:
    def __init__(self, data_dir: Path, config: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        data_dir.mkdir(parents=True)
        shutil.copyfile(config, data_dir / "config.ini")
        log = (data_dir / "worker.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pioleader", "worker", "--name", WORKER, "--port",
             str(self.port), "--data-dir", str(data_dir), "--announce", "--log-level", "warning"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def leader_and_worker(
    start_leader: Any, tmp_path: Path, broker: Mosquitto
) -> Iterator[tuple[str, WorkerProcess]]:
    leader = start_leader()
    worker = WorkerProcess(tmp_path / WORKER, leader.data_dir / "config.ini")
    try:
        yield leader.url, worker
    finally:
        worker.stop()


async def discover_and_add(api: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 30
    while True:
        found = (await api.get("/api/workers/discover")).json()
        if WORKER in [w["pioreactor_unit"] for w in found]:
            break
        assert time.monotonic() < deadline, found
    added = await api.post(
        "/api/workers/setup", json={"name": WORKER, "model": "pioreactor_40ml", "version": "1.5"}
    )
    assert added.status_code == 200, added.text
    assert WORKER not in [
        w["pioreactor_unit"] for w in (await api.get("/api/workers/discover")).json()
    ]


async def test_discover_add_and_extend_a_worker(
    leader_and_worker: tuple[str, WorkerProcess], broker: Mosquitto
) -> None:
    """It should discover the announced worker, add it, install a plugin on it through the
    leader, run the plugin's job and a single-file plugin's automation, and uninstall it."""
    url, worker = leader_and_worker
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        await discover_and_add(api)
        wheel = build_wheel(worker.data_dir / "plugins")
        write_automation_plugin(worker.data_dir / "plugins")
        installed = await task_result(
            api,
            await api.post(
                f"/api/units/{WORKER}/plugins/install",
                json={"args": ["hello-plugin"], "options": {"source": str(wheel)}},
            ),
        )
        assert installed == {WORKER: {"ok": True, "unit": WORKER, "value": True}}
        listed = await task_result(api, await api.get("/api/units/$broadcast/plugins/installed"))
        assert [p["name"] for p in listed[WORKER]["value"]] == ["beacon", "hello-plugin"]
        assert listed["leader"]["value"] == []

        assert (await api.post("/api/experiments", json={"experiment": E})).status_code == 201
        assert (
            await api.put(f"/api/experiments/{E}/workers", json={"pioreactor_unit": WORKER})
        ).status_code in (200, 201)
        ran = await task_result(
            api,
            await api.post(
                f"/api/workers/{WORKER}/jobs/run/job_name/greeting/experiments/{E}", json={}
            ),
        )
        assert ran[WORKER]["ok"] is True, ran
        topic = f"pioreactor/{WORKER}/{E}/greeting/greeting"
        assert await retained(broker.port, topic) == "hello from 0.1.0"
        stop = f"/api/workers/{WORKER}/jobs/stop/job_name/greeting/experiments/{E}"
        assert (await api.post(stop)).status_code == 202
        state = f"pioreactor/{WORKER}/{E}/greeting/$state"
        assert await retained(broker.port, state, until=lambda v: v == "disconnected")

        beacon = await task_result(
            api,
            await api.post(
                f"/api/workers/{WORKER}/jobs/run/job_name/led_automation/experiments/{E}",
                json={"options": {"automation_name": "beacon", "brightness": 9}},
            ),
        )
        assert beacon[WORKER]["ok"] is True, beacon
        led = f"pioreactor/{WORKER}/{E}/led_automation"
        event = await retained(broker.port, f"{led}/latest_event")
        assert event["message"] == "brightness 9.0"
        stop = f"/api/workers/{WORKER}/jobs/stop/job_name/led_automation/experiments/{E}"
        assert (await api.post(stop)).status_code == 202
        assert await retained(broker.port, f"{led}/$state", until=lambda v: v == "disconnected")

        removed = await task_result(
            api,
            await api.post(
                f"/api/units/{WORKER}/plugins/uninstall", json={"args": ["hello-plugin"]}
            ),
        )
        assert removed[WORKER]["value"] is True
        listed = await task_result(api, await api.get(f"/api/units/{WORKER}/plugins/installed"))
        assert [p["name"] for p in listed[WORKER]["value"]] == ["beacon"]


async def test_backup_and_restore_a_worker(leader_and_worker: tuple[str, WorkerProcess]) -> None:
    """It should back the worker up through the leader, refuse a bad archive with nothing
    changed, restore the backup, and find the worker back after its restart."""
    url, worker = leader_and_worker
    calibration = worker.data_dir / "calibrations" / "od" / "od90.yaml"
    calibration.parent.mkdir(parents=True)
    calibration.write_text("curve: original\n")
    async with httpx.AsyncClient(base_url=url, timeout=60) as api:
        await discover_and_add(api)
        backup = await api.get(f"/api/units/{WORKER}/zipped_dot_pioreactor")
        assert backup.status_code == 200, backup.text
        cluster = await api.get("/api/units/$broadcast/zipped_dot_pioreactor")
        assert cluster.status_code == 200

        calibration.write_text("curve: changed\n")
        url_import = f"/api/units/{WORKER}/import_zipped_dot_pioreactor"
        bad = await api.post(url_import, files={"archive": ("x.zip", b"not a zip")})
        assert bad.status_code == 400
        assert calibration.read_text() == "curve: changed\n"

        # A cluster backup restores the worker's own folder of it.
        done = await task_result(
            api, await api.post(url_import, files={"archive": ("c.zip", cluster.content)})
        )
        assert done[WORKER]["ok"] is True and done[WORKER]["value"]["rebooting"] is True
        assert calibration.read_text() == "curve: original\n"
        deadline = time.monotonic() + 30
        while True:  # the worker restarts in place after a restore
            await asyncio.sleep(0.2)
            versions = await task_result(api, await api.get(f"/api/units/{WORKER}/versions/app"))
            if versions[WORKER]["ok"]:
                break
            assert time.monotonic() < deadline, versions
    assert worker.process.poll() is None


async def test_setup_starts_a_simulated_worker(tmp_path: Path) -> None:
    """It should start a new simulated worker from the leader of `pioleader up`, register it,
    and reach it; the launched worker stops with the cluster."""
    with running_cluster(tmp_path / "cluster", workers=1) as cluster:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{cluster.leader_port}", timeout=60
        ) as api:
            # The cluster's own worker announces itself, but is registered already.
            found = [w["pioreactor_unit"] for w in (await api.get("/api/workers/discover")).json()]
            assert "pio01" not in found
            added = await api.post(
                "/api/workers/setup",
                json={"name": NEW_WORKER, "model": "pioreactor_20ml", "version": "1.0"},
            )
            assert added.status_code == 200, added.text
            worker = (await api.get(f"/api/workers/{NEW_WORKER}")).json()
            assert worker["model_name"] == "pioreactor_20ml"
            health = await task_result(api, await api.get(f"/api/units/{NEW_WORKER}/versions/app"))
            assert health[NEW_WORKER]["ok"] is True
            assert (cluster.data_dir / "units" / NEW_WORKER / "config.ini").is_file()
