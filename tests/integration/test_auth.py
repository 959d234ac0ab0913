"""Authentication on a real simulated cluster: with ``[pioleader] api_key`` and ``[mqtt]``
credentials, every process (leader, workers, ingester, broker) requires them, the health check
stays open, and the leader passes the key on to its workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import httpx
import pytest

from pioleader.settings import load_leader_settings
from pioleader.up import DEMO_EXPERIMENT, SimulatedCluster
from tests.integration.conftest import poll_until_done, running_cluster

pytestmark = pytest.mark.integration

KEY = "correct-horse-battery-staple"
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SimulatedCluster]:
    data_dir = tmp_path / "cluster"
    load_leader_settings(data_dir).config_files.set_shared_values(
        {
            ("pioleader", "api_key"): KEY,
            ("mqtt", "username"): "pioreactor",
            ("mqtt", "password"): "raspberry-sekrit",
        }
    )
    with running_cluster(data_dir, workers=1) as cluster:
        yield cluster


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert set(response.json()) == {"error", "cause", "remediation", "status"}
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_cluster_with_a_key_requires_it_everywhere(cluster: SimulatedCluster) -> None:
    """It should refuse requests without the key on the leader and on a worker, accept the
    key as Bearer or Basic, keep health open, and fan out to workers with the key."""
    leader = f"http://127.0.0.1:{cluster.leader_port}"
    worker = f"http://127.0.0.1:{cluster.worker_ports['pio01']}"
    async with httpx.AsyncClient(timeout=30) as http:
        # `up` registered the worker with the key.
        workers = await http.get(
            f"{leader}/api/experiments/{DEMO_EXPERIMENT}/workers", headers=BEARER
        )
        assert [w["pioreactor_unit"] for w in workers.json()] == ["pio01"]

        assert_401(await http.get(f"{leader}/api/experiments"))
        assert_401(
            await http.get(f"{leader}/api/experiments", headers={"Authorization": "Bearer no"})
        )
        assert_401(await http.post(f"{leader}/api/experiments", json={"experiment": "x"}))
        assert_401(await http.get(f"{worker}/unit_api/jobs/running"))
        assert (await http.get(f"{leader}/unit_api/health")).status_code == 200
        assert (await http.get(f"{worker}/unit_api/health")).status_code == 200
        basic = await http.get(f"{leader}/api/experiments", auth=("anyone", KEY))
        assert basic.status_code == 200
        assert (
            await http.get(f"{worker}/unit_api/jobs/running", headers=BEARER)
        ).status_code == 200

        started = await http.post(
            f"{leader}/api/workers/$broadcast/jobs/run/job_name/stirring/experiments/{DEMO_EXPERIMENT}",
            json={"options": {"target_rpm": 300}},
            headers=BEARER,
        )
        assert started.status_code == 202, started.text
        http.headers.update(BEARER)
        done = await poll_until_done(http, leader + started.json()["result_url_path"])
        assert done["status"] == "succeeded", done
        assert done["result"]["pio01"]["ok"] is True, done


async def test_the_broker_requires_the_credentials(cluster: SimulatedCluster) -> None:
    """It should refuse anonymous MQTT clients and accept the configured user."""
    broker = cluster.broker
    assert broker is not None
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client("127.0.0.1", broker.port):
            pass
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, username="pioreactor", password="raspberry-sekrit"
    ) as client:
        await client.publish("pioreactor/check", b"1")
