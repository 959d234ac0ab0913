"""Job control: run, running, stop (by experiment, one job), update, settings.

The cluster of these tests (``cluster`` fixture): experiments ``exp1`` and ``other``; ``pio01``
(active, in exp1, pioreactor_40ml 1.5), ``pio02`` (inactive, in exp1, pioreactor_20ml 1.0) and
``pio03`` (active, in ``other``, no model recorded). The leader is not a worker.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pioleader.bus import BusUnavailable, Payload, RecordingBus
from pioleader.bus.recording import PublishedMessage
from pioleader.services import Services
from tests.conftest import LEADER_PORT, UNIT_PORTS, add_worker, create_experiment, poll_task, settle
from tests.fakes import FakeUnits

PIO01, PIO02, PIO03 = UNIT_PORTS["pio01"], UNIT_PORTS["pio02"], UNIT_PORTS["pio03"]
ALL_UNIT_PORTS = {LEADER_PORT, PIO01, PIO02, PIO03}
PREFIXES = ("/api/units", "/api/workers")
RUN_BODY = {
    "options": {"target_rpm": 400, "dry_run": None},
    "env": {"JOB_SOURCE": "api", "EXPERIMENT": "ignored"},
    "args": ["--some-flag"],
    "config_overrides": [["stirring.config", "pwm_hz", "100"]],
}


class UnavailableBus(RecordingBus):
    """A bus whose broker cannot be reached: every publish fails as MqttBus's does."""

    async def publish(
        self, topic: str, payload: Payload, *, qos: int = 1, retain: bool = False
    ) -> None:
        raise BusUnavailable("test: no broker")


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


def assert_accepted_task(response: httpx.Response) -> None:
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"unit", "task_id", "result_url_path", "status"}
    assert body["unit"] == "leader"
    assert body["status"] == "accepted"
    assert body["result_url_path"] == f"/unit_api/task_results/{body['task_id']}"


def requests(units: FakeUnits) -> list[tuple[int, str, str, Any]]:
    return [(sent.port, sent.method, sent.path, sent.body) for sent in units.sent]


def message(topic: str, payload: bytes) -> PublishedMessage:
    return PublishedMessage(topic=topic, payload=payload, qos=1, retain=False)


def ok(unit: str, value: Any) -> dict[str, Any]:
    return {"ok": True, "unit": unit, "value": value}


@pytest.fixture
async def cluster(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, bus: RecordingBus
) -> None:
    await create_experiment(client, "exp1")
    await create_experiment(client, "other")
    await add_worker(client, "pio01")
    await add_worker(client, "pio02", model_name="pioreactor_20ml", model_version="1.0")
    response = await client.put("/api/workers", json={"pioreactor_unit": "pio03"})
    assert response.status_code == 201, response.text
    for unit, experiment in (("pio01", "exp1"), ("pio02", "exp1"), ("pio03", "other")):
        response = await client.put(
            f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
        )
        assert response.status_code == 200, response.text
    response = await client.put("/api/workers/pio02/is_active", json={"is_active": 0})
    assert response.status_code == 200, response.text
    await settle(services)
    units.sent.clear()
    bus.messages.clear()


async def assign(client: httpx.AsyncClient, experiment: str, unit: str) -> None:
    response = await client.put(
        f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
    )
    assert response.status_code == 200, response.text


def job_task(result: dict[str, Any]) -> Any:
    """A unit's run endpoint as the real one answers: a 202 task, then its result."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                202,
                json={
                    "unit": "pio01",
                    "task_id": "t1",
                    "result_url_path": "/unit_api/task_results/t1",
                    "status": "accepted",
                },
            )
        return httpx.Response(
            200,
            json={
                "task_id": "t1",
                "result_url_path": "/unit_api/task_results/t1",
                "status": "succeeded",
                "result": result,
            },
        )

    return handle


# -- POST|PATCH .../jobs/run/job_name/{job_name}/experiments/{experiment} ----------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_run_on_named_worker(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    prefix: str,
    method: str,
) -> None:
    """It should POST the job to the worker with the leader's part of the environment."""
    response = await client.request(
        method, f"{prefix}/pio01/jobs/run/job_name/stirring/experiments/exp1", json=RUN_BODY
    )
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    assert final["status"] == "succeeded"
    assert final["result"] == {"pio01": ok("pio01", {})}
    assert requests(units) == [
        (
            PIO01,
            "POST",
            "/unit_api/jobs/run/job_name/stirring",
            {
                "options": {"target_rpm": 400, "dry_run": None},
                "env": {
                    "JOB_SOURCE": "api",
                    "EXPERIMENT": "exp1",
                    "ACTIVE": "1",
                    "MODEL_NAME": "pioreactor_40ml",
                    "MODEL_VERSION": "1.5",
                },
                "args": ["--some-flag"],
                "config_overrides": [["stirring.config", "pwm_hz", "100"]],
            },
        )
    ]
    assert bus.messages == []


async def test_run_empty_body_means_defaults(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should accept {} and send empty options, args and overrides."""
    response = await client.post(
        "/api/workers/pio01/jobs/run/job_name/od_reading/experiments/exp1", json={}
    )
    await poll_task(client, services, response)
    assert requests(units) == [
        (
            PIO01,
            "POST",
            "/unit_api/jobs/run/job_name/od_reading",
            {
                "options": {},
                "env": {
                    "EXPERIMENT": "exp1",
                    "ACTIVE": "1",
                    "MODEL_NAME": "pioreactor_40ml",
                    "MODEL_VERSION": "1.5",
                },
                "args": [],
                "config_overrides": [],
            },
        )
    ]


async def test_run_broadcast_reaches_only_active_assigned_workers(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should start the job on active workers of the experiment only."""
    response = await client.post(
        "/api/units/$broadcast/jobs/run/job_name/stirring/experiments/exp1", json={}
    )
    final = await poll_task(client, services, response)
    assert final["result"] == {"pio01": ok("pio01", {})}
    assert [sent.port for sent in units.sent] == [PIO01]


async def test_run_broadcast_gives_each_worker_its_own_environment(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should add MODEL_NAME/MODEL_VERSION only for workers whose model is known."""
    await assign(client, "exp1", "pio03")
    await settle(services)
    units.sent.clear()
    response = await client.post(
        "/api/units/$broadcast/jobs/run/job_name/stirring/experiments/exp1",
        json={"env": {"JOB_SOURCE": "user"}},
    )
    final = await poll_task(client, services, response)
    assert list(final["result"]) == ["pio01", "pio03"]
    envs = {sent.port: sent.body["env"] for sent in units.sent}
    assert envs == {
        PIO01: {
            "JOB_SOURCE": "user",
            "EXPERIMENT": "exp1",
            "ACTIVE": "1",
            "MODEL_NAME": "pioreactor_40ml",
            "MODEL_VERSION": "1.5",
        },
        PIO03: {"JOB_SOURCE": "user", "EXPERIMENT": "exp1", "ACTIVE": "1"},
    }


async def test_run_in_universal_experiment_reaches_every_active_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should start a `$experiment` job on every active worker, assigned or not."""
    response = await client.post(
        "/api/units/$broadcast/jobs/run/job_name/monitor/experiments/$experiment", json={}
    )
    final = await poll_task(client, services, response)
    assert list(final["result"]) == ["pio01", "pio03"]
    assert sorted(sent.port for sent in units.sent) == [PIO01, PIO03]
    assert all(sent.body["env"]["EXPERIMENT"] == "$experiment" for sent in units.sent)


async def test_run_in_universal_experiment_on_named_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should start a `$experiment` job on an active worker in another experiment."""
    response = await client.post(
        "/api/workers/pio03/jobs/run/job_name/monitor/experiments/$experiment", json={}
    )
    await poll_task(client, services, response)
    assert [(sent.port, sent.path) for sent in units.sent] == [
        (PIO03, "/unit_api/jobs/run/job_name/monitor")
    ]


async def test_run_result_has_each_workers_envelope(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should report the unit's task result, and a connection error for a down worker."""
    await assign(client, "exp1", "pio03")
    await settle(services)
    units.handlers[PIO01] = job_task({"ok": True, "job_id": 7})
    units.down.add(PIO03)
    response = await client.post(
        "/api/units/$broadcast/jobs/run/job_name/stirring/experiments/exp1", json={}
    )
    final = await poll_task(client, services, response)
    assert final["status"] == "succeeded"
    assert final["result"]["pio01"] == ok("pio01", {"ok": True, "job_id": 7})
    down = final["result"]["pio03"]
    assert down["ok"] is False
    assert down["unit"] == "pio03"
    assert down["error"]["kind"] == "connection_error"
    assert down["status_code"] is None
    assert down["retryable"] is True


async def test_run_unit_error_becomes_failure_envelope(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should adopt a unit's error body (e.g. 409 already running) in its envelope."""
    units.handlers[PIO01] = lambda request: httpx.Response(
        409,
        json={
            "error": "stirring is already running.",
            "cause": "job_id=3",
            "remediation": "Stop it first.",
            "status": 409,
        },
    )
    response = await client.post(
        "/api/units/pio01/jobs/run/job_name/stirring/experiments/exp1", json={}
    )
    final = await poll_task(client, services, response)
    assert final["result"] == {
        "pio01": {
            "ok": False,
            "unit": "pio01",
            "error": {
                "kind": "http_error",
                "message": "stirring is already running.",
                "cause": "job_id=3",
                "remediation": "Stop it first.",
            },
            "status_code": 409,
            "retryable": False,
        }
    }


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param("pio02", id="inactive"),
        pytest.param("pio03", id="unassigned"),
        pytest.param("leader", id="leader-not-a-worker"),
    ],
)
async def test_run_on_worker_not_targetable_is_404(
    client: httpx.AsyncClient,
    units: FakeUnits,
    services: Services,
    cluster: None,
    unit: str,
) -> None:
    """It should answer 404 with upstream's wording and send nothing."""
    body = assert_error(
        await client.post(
            f"/api/units/{unit}/jobs/run/job_name/stirring/experiments/exp1", json={}
        ),
        404,
    )
    assert body["error"] == (
        f"Worker(s) {unit} not found, not active, or not assigned to experiment exp1."
    )
    await settle(services)
    assert units.sent == []


async def test_run_broadcast_with_nobody_active_is_404(
    client: httpx.AsyncClient, units: FakeUnits, services: Services, cluster: None
) -> None:
    """It should answer 404 when no active worker is in the experiment."""
    await create_experiment(client, "empty")
    assert_error(
        await client.post(
            "/api/units/$broadcast/jobs/run/job_name/stirring/experiments/empty", json={}
        ),
        404,
    )
    await settle(services)
    assert units.sent == []


async def test_run_on_unknown_unit_is_400(
    client: httpx.AsyncClient, units: FakeUnits, services: Services, cluster: None
) -> None:
    """It should reject a unit that is not registered."""
    body = assert_error(
        await client.post("/api/units/pio99/jobs/run/job_name/stirring/experiments/exp1", json={}),
        400,
    )
    assert body["error"] == "Unknown Pioreactor unit: pio99"
    await settle(services)
    assert units.sent == []


async def test_run_in_unknown_experiment_is_404(
    client: httpx.AsyncClient, units: FakeUnits, services: Services, cluster: None
) -> None:
    """It should answer 404 for an experiment that does not exist."""
    body = assert_error(
        await client.post(
            "/api/units/$broadcast/jobs/run/job_name/stirring/experiments/nope", json={}
        ),
        404,
    )
    assert "nope" in body["cause"]
    await settle(services)
    assert units.sent == []


@pytest.mark.parametrize("job_name", ["Stirring", "od-reading", "a" * 65, "$state", "x y"])
async def test_run_with_bad_job_name_is_400(
    client: httpx.AsyncClient, units: FakeUnits, services: Services, cluster: None, job_name: str
) -> None:
    """It should reject a job name that is not lowercase letters, digits and '_'."""
    body = assert_error(
        await client.post(
            f"/api/units/pio01/jobs/run/job_name/{job_name}/experiments/exp1", json={}
        ),
        400,
    )
    assert "job_name" in body["cause"]
    await settle(services)
    assert units.sent == []


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"", "body", id="empty"),
        pytest.param(b"{not json", "body", id="not-json"),
        pytest.param(b"[]", "body", id="array"),
        pytest.param(b'"text"', "body", id="string"),
        pytest.param(b'{"extra": 1}', "extra", id="unknown-field"),
        pytest.param(b'{"options": []}', "options", id="options-not-object"),
        pytest.param(b'{"options": {"a": [1]}}', "options", id="option-not-scalar"),
        pytest.param(b'{"env": {"A": 1}}', "env", id="env-value-not-string"),
        pytest.param(b'{"args": "x"}', "args", id="args-not-list"),
        pytest.param(b'{"args": [1]}', "args", id="args-not-strings"),
        pytest.param(b'{"config_overrides": [["a", "b"]]}', "config_overrides", id="pair"),
        pytest.param(b'{"config_overrides": [["a", "b", 1]]}', "config_overrides", id="number"),
        pytest.param(b'{"config_overrides": ["a,b,c"]}', "config_overrides", id="string"),
    ],
)
async def test_run_with_bad_body_is_400(
    client: httpx.AsyncClient,
    units: FakeUnits,
    services: Services,
    cluster: None,
    content: bytes,
    field: str,
) -> None:
    """It should reject a body that is not a JSON object of the documented fields."""
    body = assert_error(
        await client.post(
            "/api/units/pio01/jobs/run/job_name/stirring/experiments/exp1",
            content=content,
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert body["error"] == "Invalid request body."
    assert field in body["cause"]
    await settle(services)
    assert units.sent == []


# -- GET .../jobs/running ----------------------------------------------------------------------

RUNNING_ROW = {
    "job_id": 1,
    "unit": "pio01",
    "experiment": "exp1",
    "job_name": "stirring",
    "job_source": "user",
    "started_at": "2026-01-01T12:00:00.000Z",
    "is_running": 1,
    "leader": "leader",
    "pid": 1234,
    "is_long_running_job": 0,
    "ended_at": None,
}


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_running_broadcast_reaches_every_unit(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    prefix: str,
) -> None:
    """It should ask the leader and every worker (inactive or unassigned too), sorted."""
    units.handlers[PIO01] = lambda request: httpx.Response(200, json=[RUNNING_ROW])
    units.handlers[LEADER_PORT] = lambda request: httpx.Response(200, json=[])
    units.down.add(PIO02)
    response = await client.get(f"{prefix}/$broadcast/jobs/running")
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    result = final["result"]
    assert list(result) == ["leader", "pio01", "pio02", "pio03"]
    assert result["leader"] == ok("leader", [])
    assert result["pio01"] == ok("pio01", [RUNNING_ROW])
    assert result["pio02"]["ok"] is False
    assert result["pio02"]["error"]["kind"] == "connection_error"
    assert result["pio03"] == ok("pio03", {})
    assert {(s.port, s.method, s.path, s.body) for s in units.sent} == {
        (port, "GET", "/unit_api/jobs/running", None) for port in ALL_UNIT_PORTS
    }


@pytest.mark.parametrize(("unit", "port"), [("pio02", PIO02), ("leader", LEADER_PORT)])
async def test_running_on_named_unit(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    unit: str,
    port: int,
) -> None:
    """It should ask only the named unit, the leader included."""
    final = await poll_task(client, services, await client.get(f"/api/units/{unit}/jobs/running"))
    assert list(final["result"]) == [unit]
    assert requests(units) == [(port, "GET", "/unit_api/jobs/running", None)]


async def test_running_on_unknown_unit_is_400(
    client: httpx.AsyncClient, units: FakeUnits, services: Services, cluster: None
) -> None:
    """It should reject an unregistered unit and send nothing."""
    assert_error(await client.get("/api/workers/pio99/jobs/running"), 400)
    await settle(services)
    assert units.sent == []


# -- POST|PATCH .../jobs/stop/experiments/{experiment} -----------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_stop_experiment_broadcast_reaches_every_unit(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    prefix: str,
    method: str,
) -> None:
    """It should answer 202 without a task and ask every unit to stop the experiment's jobs."""
    response = await client.request(method, f"{prefix}/$broadcast/jobs/stop/experiments/exp1")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "success"}
    await settle(services)
    assert sorted(requests(units)) == sorted(
        (port, "POST", "/unit_api/jobs/stop", {"experiment": "exp1"}) for port in ALL_UNIT_PORTS
    )
    assert bus.messages == []


async def test_stop_experiment_on_named_unit(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should ask only the named unit."""
    response = await client.post("/api/workers/pio03/jobs/stop/experiments/other")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "success"}
    await settle(services)
    assert requests(units) == [(PIO03, "POST", "/unit_api/jobs/stop", {"experiment": "other"})]


async def test_stop_experiment_answers_even_if_units_are_down(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should not wait for, or fail because of, unreachable units."""
    units.down.update(ALL_UNIT_PORTS)
    response = await client.post("/api/units/$broadcast/jobs/stop/experiments/exp1")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "success"}
    await settle(services)
    assert {sent.port for sent in units.sent} == ALL_UNIT_PORTS


async def test_stop_experiment_on_unknown_unit_is_400(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should reject an unregistered unit and send nothing."""
    body = assert_error(await client.patch("/api/units/pio99/jobs/stop/experiments/exp1"), 400)
    assert body["error"] == "Unknown Pioreactor unit: pio99"
    await settle(services)
    assert units.sent == []


# -- POST|PATCH .../jobs/stop/job_name/{job_name}/experiments/{experiment} ---------------------


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_stop_job_publishes_disconnect(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    prefix: str,
    method: str,
) -> None:
    """It should publish $state/set = disconnected to the job and answer 202 accepted."""
    response = await client.request(
        method, f"{prefix}/pio01/jobs/stop/job_name/stirring/experiments/exp1"
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    assert bus.messages == [message("pioreactor/pio01/exp1/stirring/$state/set", b"disconnected")]
    await settle(services)
    assert units.sent == []


async def test_stop_job_broadcast_uses_the_broadcast_topic(
    client: httpx.AsyncClient, bus: RecordingBus, cluster: None
) -> None:
    """It should publish once, on the $broadcast topic every job listens to."""
    response = await client.post(
        "/api/units/$broadcast/jobs/stop/job_name/od_reading/experiments/$experiment"
    )
    assert response.status_code == 202, response.text
    assert bus.messages == [
        message("pioreactor/$broadcast/$experiment/od_reading/$state/set", b"disconnected")
    ]


async def test_stop_job_on_the_leader(
    client: httpx.AsyncClient, bus: RecordingBus, cluster: None
) -> None:
    """It should accept the leader, a registered unit."""
    response = await client.post("/api/units/leader/jobs/stop/job_name/monitor/experiments/exp1")
    assert response.status_code == 202, response.text
    assert bus.messages == [message("pioreactor/leader/exp1/monitor/$state/set", b"disconnected")]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        pytest.param("/api/units/pio99/jobs/stop/job_name/stirring/experiments/exp1", "pio99"),
        pytest.param("/api/units/pio+/jobs/stop/job_name/stirring/experiments/exp1", "pio+"),
        pytest.param("/api/units/pio01/jobs/stop/job_name/Stir/experiments/exp1", "job_name"),
        pytest.param("/api/units/pio01/jobs/stop/job_name/+/experiments/exp1", "job_name"),
        pytest.param("/api/units/pio01/jobs/stop/job_name/stirring/experiments/e+1", "e+1"),
        pytest.param("/api/units/pio01/jobs/stop/job_name/stirring/experiments/e%231", "e#1"),
    ],
)
async def test_stop_job_with_bad_segment_is_400(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    path: str,
    field: str,
) -> None:
    """It should reject unknown units and names that are not one topic level; publish nothing."""
    body = assert_error(await client.post(path), 400)
    assert field in body["error"] + body["cause"]
    await settle(services)
    assert bus.messages == []
    assert units.sent == []


class TestBrokerDown:
    """With the MQTT broker unreachable."""

    @pytest.fixture
    def bus(self) -> RecordingBus:
        return UnavailableBus()

    async def test_stop_job_falls_back_to_http(
        self, client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
    ) -> None:
        """It should ask the unit over HTTP, as a task, when publishing fails."""
        response = await client.post(
            "/api/workers/pio01/jobs/stop/job_name/stirring/experiments/exp1"
        )
        assert_accepted_task(response)
        final = await poll_task(client, services, response)
        assert final["result"] == {"pio01": ok("pio01", {})}
        assert requests(units) == [
            (
                PIO01,
                "POST",
                "/unit_api/jobs/stop",
                {"job_name": "stirring", "experiment": "exp1"},
            )
        ]

    async def test_stop_job_broadcast_falls_back_to_every_unit(
        self, client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
    ) -> None:
        """It should ask the leader and every worker over HTTP for $broadcast."""
        units.down.add(PIO02)
        response = await client.patch(
            "/api/units/$broadcast/jobs/stop/job_name/stirring/experiments/exp1"
        )
        final = await poll_task(client, services, response)
        assert list(final["result"]) == ["leader", "pio01", "pio02", "pio03"]
        assert final["result"]["pio02"]["error"]["kind"] == "connection_error"
        assert final["result"]["pio01"] == ok("pio01", {})
        assert sorted(requests(units)) == sorted(
            (port, "POST", "/unit_api/jobs/stop", {"job_name": "stirring", "experiment": "exp1"})
            for port in ALL_UNIT_PORTS
        )

    async def test_update_is_503(
        self, client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
    ) -> None:
        """It should answer 503 with the error body, and not fall back to HTTP."""
        body = assert_error(
            await client.patch(
                "/api/units/pio01/jobs/update/job_name/stirring/experiments/exp1",
                json={"settings": {"target_rpm": 300}},
            ),
            503,
        )
        assert body["error"] == "MQTT broker unavailable."
        await settle(services)
        assert units.sent == []


# -- PATCH .../jobs/update/job_name/{job_name}/experiments/{experiment} ------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_update_publishes_each_setting(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    prefix: str,
) -> None:
    """It should publish each setting to <setting>/set: strings raw, other values as JSON."""
    response = await client.patch(
        f"{prefix}/pio01/jobs/update/job_name/stirring/experiments/exp1",
        json={
            "settings": {
                "target_rpm": 300,
                "label": "fast",
                "ratio": 0.5,
                "enabled": True,
                "note": None,
                "$state": "sleeping",
            }
        },
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    topic = "pioreactor/pio01/exp1/stirring/{}/set"
    assert bus.messages == [
        message(topic.format("target_rpm"), b"300"),
        message(topic.format("label"), b"fast"),
        message(topic.format("ratio"), b"0.5"),
        message(topic.format("enabled"), b"true"),
        message(topic.format("note"), b"null"),
        message(topic.format("$state"), b"sleeping"),
    ]
    await settle(services)
    assert units.sent == []


async def test_update_broadcast_uses_the_broadcast_topic(
    client: httpx.AsyncClient, bus: RecordingBus, cluster: None
) -> None:
    """It should publish on the $broadcast topic."""
    response = await client.patch(
        "/api/workers/$broadcast/jobs/update/job_name/temperature_automation/experiments/exp1",
        json={"settings": {"target_temperature": 32.5}},
    )
    assert response.status_code == 202, response.text
    assert bus.messages == [
        message("pioreactor/$broadcast/exp1/temperature_automation/target_temperature/set", b"32.5")
    ]


@pytest.mark.parametrize(
    ("path", "content", "field"),
    [
        pytest.param("pio01", b"{}", "settings", id="missing-settings"),
        pytest.param("pio01", b'{"settings": {}}', "settings", id="empty-settings"),
        pytest.param("pio01", b"", "body", id="no-body"),
        pytest.param("pio01", b"[]", "body", id="array"),
        pytest.param("pio01", b'{"settings": []}', "settings", id="settings-not-object"),
        pytest.param("pio01", b'{"settings": {"a b": 1}}', "a b", id="setting-with-space"),
        pytest.param("pio01", b'{"settings": {"a/b": 1}}', "a/b", id="setting-with-slash"),
        pytest.param("pio01", b'{"settings": {"+": 1}}', "+", id="setting-wildcard"),
        pytest.param("pio01", b'{"settings": {"a": [1]}}', "settings.a", id="list-value"),
        pytest.param("pio01", b'{"settings": {"a": {"b": 1}}}', "settings.a", id="object-value"),
        pytest.param("pio01", b'{"settings": {"a": 1}, "x": 1}', "x", id="unknown-field"),
        pytest.param("pio99", b'{"settings": {"a": 1}}', "pio99", id="unknown-unit"),
        pytest.param("pio#", b'{"settings": {"a": 1}}', "pio#", id="unit-wildcard"),
    ],
)
async def test_update_with_bad_input_is_400(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    path: str,
    content: bytes,
    field: str,
) -> None:
    """It should reject bad bodies and names, and publish nothing."""
    body = assert_error(
        await client.patch(
            f"/api/units/{path.replace('#', '%23')}/jobs/update/job_name/stirring/experiments/exp1",
            content=content,
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert field in body["error"] + body["cause"]
    assert bus.messages == []
    await settle(services)
    assert units.sent == []


async def test_update_with_bad_experiment_is_400(
    client: httpx.AsyncClient, bus: RecordingBus, cluster: None
) -> None:
    """It should reject an experiment name that is not one topic level."""
    assert_error(
        await client.patch(
            "/api/units/pio01/jobs/update/job_name/stirring/experiments/e+1",
            json={"settings": {"a": 1}},
        ),
        400,
    )
    assert bus.messages == []


async def test_update_is_patch_only(client: httpx.AsyncClient, bus: RecordingBus) -> None:
    """It should answer 405 to POST, as the seed lists only PATCH."""
    response = await client.post(
        "/api/units/pio01/jobs/update/job_name/stirring/experiments/exp1",
        json={"settings": {"a": 1}},
    )
    assert_error(response, 405)
    assert bus.messages == []


# -- GET /api/workers/.../jobs/settings/job_name/{job_name}[/setting/{setting}]/... ------------


async def test_settings_broadcast_reaches_the_experiments_workers(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should ask every worker assigned to the experiment, active or not."""
    units.handlers[PIO01] = lambda request: httpx.Response(
        200, json={"settings": {"target_rpm": "500", "$state": "ready"}}
    )
    units.handlers[PIO02] = lambda request: httpx.Response(
        404,
        json={
            "error": "No settings found for job.",
            "cause": "stirring is not running on pio02.",
            "remediation": "GET /unit_api/jobs/running lists the running jobs.",
            "status": 404,
        },
    )
    response = await client.get(
        "/api/workers/$broadcast/jobs/settings/job_name/stirring/experiments/exp1"
    )
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    assert final["result"] == {
        "pio01": ok("pio01", {"settings": {"target_rpm": "500", "$state": "ready"}}),
        "pio02": {
            "ok": False,
            "unit": "pio02",
            "error": {
                "kind": "http_error",
                "message": "No settings found for job.",
                "cause": "stirring is not running on pio02.",
                "remediation": "GET /unit_api/jobs/running lists the running jobs.",
            },
            "status_code": 404,
            "retryable": False,
        },
    }
    assert sorted(requests(units)) == [
        (PIO01, "GET", "/unit_api/jobs/settings/job_name/stirring", None),
        (PIO02, "GET", "/unit_api/jobs/settings/job_name/stirring", None),
    ]


async def test_settings_in_universal_experiment_reach_every_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should ask every worker (not the leader) for `$experiment`."""
    response = await client.get(
        "/api/workers/$broadcast/jobs/settings/job_name/monitor/experiments/$experiment"
    )
    final = await poll_task(client, services, response)
    assert list(final["result"]) == ["pio01", "pio02", "pio03"]
    assert sorted(sent.port for sent in units.sent) == [PIO01, PIO02, PIO03]


async def test_one_setting_of_named_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should ask the worker for the one setting."""
    units.handlers[PIO01] = lambda request: httpx.Response(200, json={"$state": "ready"})
    response = await client.get(
        "/api/workers/pio01/jobs/settings/job_name/stirring/setting/$state/experiments/exp1"
    )
    final = await poll_task(client, services, response)
    assert final["result"] == {"pio01": ok("pio01", {"$state": "ready"})}
    assert requests(units) == [
        (PIO01, "GET", "/unit_api/jobs/settings/job_name/stirring/setting/$state", None)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/workers/pio03/jobs/settings/job_name/stirring/experiments/exp1",
        "/api/workers/pio03/jobs/settings/job_name/stirring/setting/target_rpm/experiments/exp1",
        "/api/workers/leader/jobs/settings/job_name/stirring/experiments/$experiment",
    ],
)
async def test_settings_of_worker_outside_the_experiment_is_404(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None, path: str
) -> None:
    """It should answer 404 for a unit that is not one of the experiment's workers."""
    body = assert_error(await client.get(path), 404)
    assert "not in experiment" in body["error"]
    await settle(services)
    assert units.sent == []


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/workers/pio99/jobs/settings/job_name/stirring/experiments/exp1", 400, "pio99"),
        ("/api/workers/pio01/jobs/settings/job_name/stirring/experiments/nope", 404, "nope"),
        ("/api/workers/pio01/jobs/settings/job_name/Stir/experiments/exp1", 400, "job_name"),
        (
            "/api/workers/pio01/jobs/settings/job_name/stirring/setting/a-b/experiments/exp1",
            400,
            "setting",
        ),
        (
            "/api/workers/pio01/jobs/settings/job_name/stirring/setting/a%2E%2E/experiments/exp1",
            400,
            "setting",
        ),
    ],
)
async def test_settings_with_bad_input(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    path: str,
    status: int,
    field: str,
) -> None:
    """It should reject unknown units, experiments and malformed names; send nothing."""
    body = assert_error(await client.get(path), status)
    assert field in body["error"] + body["cause"]
    await settle(services)
    assert units.sent == []


# -- Routes ------------------------------------------------------------------------------------


def both(methods: tuple[str, ...], suffix: str) -> set[tuple[str, str]]:
    return {(method, prefix + suffix) for method in methods for prefix in PREFIXES}


RUN_PATH = "/{pioreactor_unit}/jobs/run/job_name/{job_name}/experiments/{experiment}"
STOP_JOB_PATH = "/{pioreactor_unit}/jobs/stop/job_name/{job_name}/experiments/{experiment}"
UPDATE_PATH = "/{pioreactor_unit}/jobs/update/job_name/{job_name}/experiments/{experiment}"
SETTINGS_PATH = "/api/workers/{pioreactor_unit}/jobs/settings/job_name/{job_name}"
JOB_ROUTES = {
    "run_job_on_unit_in_experiment": both(("POST", "PATCH"), RUN_PATH),
    "get_jobs_running": both(("GET",), "/{pioreactor_unit}/jobs/running"),
    "stop_all_jobs_on_unit_for_experiment": both(
        ("POST", "PATCH"), "/{pioreactor_unit}/jobs/stop/experiments/{experiment}"
    ),
    "stop_specific_job_on_unit": both(("POST", "PATCH"), STOP_JOB_PATH),
    "update_job_on_unit": both(("PATCH",), UPDATE_PATH),
    "get_job_settings_for_worker": {("GET", SETTINGS_PATH + "/experiments/{experiment}")},
    "get_job_setting_for_worker": {
        ("GET", SETTINGS_PATH + "/setting/{setting}/experiments/{experiment}")
    },
}


def test_routes_match_the_seed(app: FastAPI) -> None:
    """It should serve each handler on exactly the seed's methods and paths."""
    served: dict[str, set[tuple[str, str]]] = {}
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/"):
            continue  # the leader's own unit API has handlers of the same names
        for method, operation in operations.items():
            # FastAPI's summary is the handler's name, title-cased.
            handler = operation["summary"].lower().replace(" ", "_")
            served.setdefault(handler, set()).add((method.upper(), path))
    for handler, routes in JOB_ROUTES.items():
        assert served.get(handler) == routes, handler
