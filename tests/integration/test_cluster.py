"""The simulated cluster as real processes (mosquitto, leader, two workers), driven through the
leader's /api: job start, settings, stop, $broadcast, a killed worker and a broker restart."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest

from pioleader.up import DEMO_EXPERIMENT, SimulatedCluster
from tests.integration.conftest import mqtt_port, task_result
from tests.mqtt import retained

pytestmark = pytest.mark.integration

E = DEMO_EXPERIMENT
FAST_STIRRING = {
    "options": {"target_rpm": 400},
    "config_overrides": [["stirring.config", "duration_between_updates_seconds", "0.5"]],
}


async def test_job_lifecycle_through_the_leader(cluster: SimulatedCluster, api) -> None:
    """It should start stirring, show it running and retained, change its target, stop it."""
    started = await api.post(
        f"/api/workers/pio01/jobs/run/job_name/stirring/experiments/{E}", json=FAST_STIRRING
    )
    result = await task_result(api, started)
    assert result["pio01"]["ok"] is True, result
    assert list(result) == ["pio01"]

    running = await task_result(api, await api.get("/api/workers/pio01/jobs/running"))
    jobs = running["pio01"]["value"]
    assert [job["job_name"] for job in jobs] == ["stirring"]
    assert jobs[0]["experiment"] == E and jobs[0]["is_running"] == 1

    port = mqtt_port(cluster)
    root = f"pioreactor/pio01/{E}/stirring"
    assert await retained(port, f"{root}/$state", until=lambda v: v == "ready") == "ready"
    assert await retained(port, f"{root}/target_rpm") == 400.0

    updated = await api.patch(
        f"/api/workers/pio01/jobs/update/job_name/stirring/experiments/{E}",
        json={"settings": {"target_rpm": 600}},
    )
    assert updated.status_code == 202, updated.text
    assert await retained(port, f"{root}/target_rpm", until=lambda v: v == 600.0) == 600.0
    measured = await retained(
        port, f"{root}/measured_rpm", until=lambda v: isinstance(v, dict) and v["measured_rpm"] > 0
    )
    assert measured["measured_rpm"] > 0

    settings = await task_result(
        api, await api.get(f"/api/workers/pio01/jobs/settings/job_name/stirring/experiments/{E}")
    )
    assert settings["pio01"]["value"]["settings"]["target_rpm"] == "600.0"

    stopped = await api.post(f"/api/workers/pio01/jobs/stop/job_name/stirring/experiments/{E}")
    assert stopped.status_code == 202
    assert (
        await retained(port, f"{root}/$state", until=lambda v: v == "disconnected")
        == "disconnected"
    )
    after = await task_result(api, await api.get("/api/workers/pio01/jobs/running"))
    assert after["pio01"]["value"] == []


async def test_second_start_is_refused(cluster: SimulatedCluster, api) -> None:
    """It should refuse to start a job that is already running on the unit."""
    path = f"/api/workers/pio02/jobs/run/job_name/stirring/experiments/{E}"
    assert (await task_result(api, await api.post(path, json=FAST_STIRRING)))["pio02"]["ok"]
    await asyncio.sleep(1.1)  # past the unit's one-second debounce, to reach the real check
    again = await task_result(api, await api.post(path, json=FAST_STIRRING))
    envelope = again["pio02"]
    assert envelope["ok"] is False
    assert envelope["status_code"] == 409
    assert "already running" in envelope["error"]["message"]


async def test_broadcast_reaches_every_assigned_worker(cluster: SimulatedCluster, api) -> None:
    """It should run a $broadcast job on exactly the active workers of the experiment."""
    deactivated = await api.put("/api/workers/pio02/is_active", json={"is_active": 0})
    assert deactivated.status_code == 200
    result = await task_result(
        api,
        await api.post(
            f"/api/workers/$broadcast/jobs/run/job_name/od_reading/experiments/{E}",
            json={"options": {"interval": 0.5}},
        ),
    )
    assert list(result) == ["pio01"] and result["pio01"]["ok"]
    ods = await retained(mqtt_port(cluster), f"pioreactor/pio01/{E}/od_reading/ods")
    assert ods["ods"]["2"]["angle"] == "90" and ods["ods"]["2"]["od"] > 0

    versions = await task_result(api, await api.get("/api/units/$broadcast/versions/app"))
    assert sorted(versions) == ["leader", "pio01", "pio02"]
    assert all(envelope["ok"] for envelope in versions.values())


async def test_killed_worker_fails_alone(cluster: SimulatedCluster, api) -> None:
    """It should report a SIGKILLed worker as failed within its timeout; the others succeed."""
    started = await task_result(
        api,
        await api.post(
            f"/api/workers/pio02/jobs/run/job_name/stirring/experiments/{E}", json=FAST_STIRRING
        ),
    )
    assert started["pio02"]["ok"]
    worker = next(p for p in cluster.processes if p.name == "pio02")
    os.killpg(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait()
    lost = await retained(
        mqtt_port(cluster), f"pioreactor/pio02/{E}/stirring/$state", until=lambda v: v == "lost"
    )
    assert lost == "lost"
    # The UI shows units from their monitor state: the dead one lost, the others ready.
    monitor = "pioreactor/{}/$experiment/monitor/$state"
    port = mqtt_port(cluster)
    assert await retained(port, monitor.format("pio02"), until=lambda v: v == "lost")
    assert await retained(port, monitor.format("pio01")) == "ready"
    assert await retained(port, monitor.format("leader")) == "ready"

    began = time.monotonic()
    versions = await task_result(api, await api.get("/api/units/$broadcast/versions/app"))
    elapsed = time.monotonic() - began
    assert versions["pio01"]["ok"] and versions["leader"]["ok"]
    assert versions["pio02"]["ok"] is False
    assert versions["pio02"]["error"]["kind"] == "connection_error"
    assert versions["pio02"]["retryable"] is True
    assert elapsed < 10  # the dead unit costs at most its timeout (5 s for reads)


async def test_job_state_survives_a_broker_restart(cluster: SimulatedCluster, api) -> None:
    """It should republish a running job's retained settings after the broker restarts empty."""
    started = await task_result(
        api,
        await api.post(
            f"/api/workers/pio01/jobs/run/job_name/stirring/experiments/{E}", json=FAST_STIRRING
        ),
    )
    assert started["pio01"]["ok"]
    broker = cluster.broker
    assert broker is not None
    broker.stop()
    # Same port, empty persistence: only republishing can bring the state back.
    broker.directory = broker.directory.parent / "mosquitto-restarted"
    broker.start()
    root = f"pioreactor/pio01/{E}/stirring"
    assert await retained(broker.port, f"{root}/$state", within=20) == "ready"
    assert await retained(broker.port, f"{root}/target_rpm", within=20) == 400.0


async def test_reboot_restarts_the_worker_and_shutdown_stops_it(
    cluster: SimulatedCluster, api
) -> None:
    """It should end a rebooted worker's jobs and bring it back; a shut-down worker stays down."""
    started = await task_result(
        api,
        await api.post(
            f"/api/workers/pio01/jobs/run/job_name/stirring/experiments/{E}", json=FAST_STIRRING
        ),
    )
    assert started["pio01"]["ok"]
    worker = next(p for p in cluster.processes if p.name == "pio01")
    rebooted = await task_result(api, await api.post("/api/units/pio01/system/reboot"))
    assert rebooted["pio01"]["value"] == {"ok": True, "action": "reboot"}
    state = await retained(
        mqtt_port(cluster),
        f"pioreactor/pio01/{E}/stirring/$state",
        until=lambda v: v == "disconnected",
    )
    assert state == "disconnected"
    # The same process (re-executed) answers again, with no job running.
    deadline = time.monotonic() + 30
    while True:
        versions = await task_result(api, await api.get("/api/units/pio01/versions/app"))
        if versions["pio01"]["ok"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert versions["pio01"]["ok"], versions
    assert worker.popen.poll() is None
    running = await task_result(api, await api.get("/api/workers/pio01/jobs/running"))
    assert running["pio01"]["value"] == []

    down = await task_result(api, await api.post("/api/units/pio02/system/shutdown"))
    assert down["pio02"]["value"] == {"ok": True, "action": "shutdown"}
    pio02 = next(p for p in cluster.processes if p.name == "pio02")
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -15 is a clean stop here.
    assert pio02.popen.wait(timeout=30) in (0, -signal.SIGTERM)


async def wait_for_series(api: httpx.AsyncClient, source: str, unit: str) -> list[dict]:
    """The points of ``unit`` in the experiment's ``source`` chart, once there are some."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        chart = (await api.get(f"/api/experiments/{E}/time_series/{source}?lookback=1")).json()
        if unit in chart["series"] and chart["data"][chart["series"].index(unit)]:
            points: list[dict] = chart["data"][chart["series"].index(unit)]
            return points
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {source} of {unit} within 60 s")


async def test_culture_data_reach_the_database_and_bad_automations_are_refused(
    cluster: SimulatedCluster, api
) -> None:
    """OD, growth rate, temperature and dosing flow from worker jobs through MQTT and the
    ingester into the leader's charts; a bad automation option is a 400 from the worker."""
    base = "/api/workers/pio01/jobs/run/job_name"
    fast_growth = [["growth_rate_calculating.config", "samples_for_od_statistics", "3"]]
    quick_temperature = [["temperature_automation.config", "seconds_between_readings", "1"]]
    for job_name, body in (
        ("od_reading", {"options": {"interval": 0.5}}),
        ("growth_rate_calculating", {"config_overrides": fast_growth}),
        (
            "temperature_automation",
            {"options": {"automation_name": "thermostat"}, "config_overrides": quick_temperature},
        ),
    ):
        result = await task_result(
            api, await api.post(f"{base}/{job_name}/experiments/{E}", json=body)
        )
        assert result["pio01"]["ok"] is True, result

    refused = await task_result(
        api,
        await api.post(
            f"{base}/dosing_automation/experiments/{E}",
            json={"options": {"automation_name": "chemostat", "exchange_volume_ml": -1}},
        ),
    )
    assert refused["pio01"]["status_code"] == 400
    assert "options.exchange_volume_ml" in refused["pio01"]["error"]["cause"]

    chemostat = {"automation_name": "chemostat", "duration": 0.02, "exchange_volume_ml": 0.25}
    started = await task_result(
        api,
        await api.post(f"{base}/dosing_automation/experiments/{E}", json={"options": chemostat}),
    )
    assert started["pio01"]["ok"] is True, started

    assert (await wait_for_series(api, "od_readings", "pio01-2"))[0]["y"] > 0
    assert await wait_for_series(api, "growth_rates", "pio01")
    assert 15 < (await wait_for_series(api, "temperature_readings", "pio01"))[0]["y"] < 45
    deadline = time.monotonic() + 60
    while (rates := (await api.get(f"/api/experiments/{E}/media_rates")).json()).get(
        "pio01", {}
    ).get("mediaRate", 0) == 0:
        assert time.monotonic() < deadline, rates
        await asyncio.sleep(0.2)
