"""Running a profile on the leader in-process: the experiment_profile job (real broker for the
job's own connection) drives fake workers through the recording bus and the unit transport,
shows under running, records a run for recent, ends by itself or when stopped."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.bus import RecordingBus
from pioleader.services import Services
from pioleader.settings import LeaderSettings
from tests.conftest import UNIT_PORTS, add_worker, create_experiment, poll_task
from tests.fakes import FakeUnits
from tests.profiles.samples import TIMED

E = "exp1"
PROFILE = TIMED
RUN = "/unit_api/jobs/run/job_name/experiment_profile"


@pytest.fixture
def settings(settings: LeaderSettings, broker: Mosquitto) -> LeaderSettings:
    """The leader's jobs connect to a real broker; the API still publishes to the recorder."""
    return replace(settings, mqtt=replace(settings.mqtt, port=broker.port))


async def until(predicate, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def prepare(client: httpx.AsyncClient, profile: str = PROFILE) -> None:
    await add_worker(client, "pio01")
    await create_experiment(client, E)
    assigned = await client.put(f"/api/experiments/{E}/workers", json={"pioreactor_unit": "pio01"})
    assert assigned.status_code == 200, assigned.text
    created = await client.post(
        "/api/experiment_profiles", json={"filename": "quick.yaml", "body": profile}
    )
    assert created.status_code == 200, created.text


def run_body(speedup: float, filename: str = "quick.yaml", experiment: str = E) -> dict:
    return {
        "args": ["execute", filename, experiment],
        "env": {"EXPERIMENT": E},
        "options": {"speedup": speedup},
    }


async def test_profile_runs_its_actions_then_ends(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, bus: RecordingBus
) -> None:
    """It should start stirring on the worker, change it, stop it, in order, record the run
    and end; running shows it meanwhile."""
    await prepare(client)
    done = await poll_task(client, services, await client.post(RUN, json=run_body(3600)))
    assert done["status"] == "succeeded", done

    running = (await client.get(f"/api/experiments/{E}/experiment_profiles/running")).json()
    assert [r["job_name"] for r in running] == ["experiment_profile"]
    assert running[0]["settings"]["experiment_profile_name"] == "timed"
    assert running[0]["settings"]["profile_filename"] == "quick.yaml"
    recent = (await client.get(f"/api/experiments/{E}/experiment_profiles/recent")).json()
    assert [r["experiment_profile_name"] for r in recent] == ["timed"]

    async def ended() -> bool:
        path = f"/api/experiments/{E}/experiment_profiles/running"
        return (await client.get(path)).json() == []

    await until(ended)
    (started,) = [s for s in units.to(UNIT_PORTS["pio01"]) if s.method == "POST"]
    assert started.path == "/unit_api/jobs/run/job_name/stirring"
    assert started.body["options"] == {"target_rpm": 400}
    assert started.body["env"]["JOB_SOURCE"] == "experiment_profile"
    assert started.body["env"]["EXPERIMENT"] == E
    sets = [(m.topic, m.payload.decode()) for m in bus.messages if m.topic.endswith("/set")]
    assert sets == [
        (f"pioreactor/pio01/{E}/stirring/target_rpm/set", "500"),
        (f"pioreactor/pio01/{E}/stirring/$state/set", "disconnected"),
    ]


async def test_profile_can_be_stopped(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, bus: RecordingBus
) -> None:
    """It should stop a running profile through the job-stop endpoint; later actions never
    happen."""
    await prepare(client)
    await poll_task(client, services, await client.post(RUN, json=run_body(1)))
    stopped = await poll_task(
        client,
        services,
        await client.post("/unit_api/jobs/stop", json={"job_name": "experiment_profile"}),
    )
    assert stopped["result"] == {"stopped": ["experiment_profile"]}
    running = await client.get(f"/api/experiments/{E}/experiment_profiles/running")
    assert running.json() == []
    assert [m for m in bus.messages if m.topic.endswith("/set")] == []


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (run_body(1, filename="missing.yaml"), "No profile 'missing.yaml'"),
        (run_body(1, filename="../x.yaml"), "must be a file name"),
        (run_body(1, experiment="other"), "is not env EXPERIMENT"),
        ({**run_body(1), "args": ["quick.yaml"]}, "args must be"),
        (run_body(0), "speedup must be above 0"),
    ],
)
async def test_bad_runs_are_refused(
    client: httpx.AsyncClient, services: Services, body: dict, cause: str
) -> None:
    """It should refuse to start with a cause for a bad file, experiment, args or speed-up."""
    await prepare(client)
    done = await poll_task(client, services, await client.post(RUN, json=body))
    assert done["status"] == "failed"
    assert cause in done["cause"], done
    assert (await client.get(f"/api/experiments/{E}/experiment_profiles/recent")).json() == []
