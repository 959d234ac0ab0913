"""Experiment assignments: ``/api/experiments/{experiment}/workers[/{unit}]``,
``/api/experiments/{experiment}/historical_worker_assignments`` and
``/api/workers/assignments``: bodies, validation, retained MQTT messages and unit requests."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.services import Services
from tests.conftest import UNIT_PORTS, add_worker, create_experiment, poll_task, settle
from tests.fakes import FakeUnits

T0 = "2026-01-01T12:00:00.000Z"
STOP_ALL = ("POST", "/unit_api/jobs/stop/all")
OK = {"status": "success"}


def topic(unit: str) -> str:
    return f"pioreactor/{unit}/$experiment/assignment"


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


def sent_to(units: FakeUnits, unit: str) -> list[tuple[str, str, Any]]:
    return [(sent.method, sent.path, sent.body) for sent in units.to(UNIT_PORTS[unit])]


def stop_experiment(experiment: str) -> tuple[str, str, Any]:
    return ("POST", "/unit_api/jobs/stop", {"experiment": experiment})


def success(unit: str) -> dict[str, Any]:
    return {"ok": True, "unit": unit, "value": {}}


def null_assignment(unit: str, updated_at: str) -> dict[str, Any]:
    return {
        "pioreactor_unit": unit,
        "experiment": None,
        "assigned_at": None,
        "updated_at": updated_at,
    }


async def put_worker(client: httpx.AsyncClient, experiment: str, unit: str) -> httpx.Response:
    return await client.put(
        f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
    )


async def assign(client: httpx.AsyncClient, experiment: str, unit: str) -> None:
    response = await put_worker(client, experiment, unit)
    assert response.status_code == 200, response.text


async def assignment_rows(services: Services) -> list[tuple[str, str, str]]:
    def select(connection: sqlite3.Connection) -> list[tuple[str, str, str]]:
        rows = connection.execute(
            "SELECT pioreactor_unit, experiment, assigned_at FROM experiment_worker_assignments"
            " ORDER BY pioreactor_unit"
        ).fetchall()
        return [(r["pioreactor_unit"], r["experiment"], r["assigned_at"]) for r in rows]

    return await services.db.read(select)


async def history_rows(services: Services) -> list[tuple[str, str, str, bool]]:
    """(unit, experiment, assigned_at, still open) for every history row."""

    def select(connection: sqlite3.Connection) -> list[tuple[str, str, str, bool]]:
        rows = connection.execute(
            "SELECT pioreactor_unit, experiment, assigned_at, unassigned_at"
            "  FROM experiment_worker_assignments_history"
            " ORDER BY pioreactor_unit, assigned_at"
        ).fetchall()
        return [
            (r["pioreactor_unit"], r["experiment"], r["assigned_at"], r["unassigned_at"] is None)
            for r in rows
        ]

    return await services.db.read(select)


async def cluster(client: httpx.AsyncClient, *experiments: str) -> None:
    """Register pio01-pio03 and create the given experiments."""
    for unit in UNIT_PORTS:
        await add_worker(client, unit)
    for experiment in experiments:
        await create_experiment(client, experiment)


# -- PUT /api/experiments/{experiment}/workers ------------------------------------------------


async def test_assign_publishes_retained_assignment(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should answer 200 success, store the assignment and publish it retained at qos 1."""
    await cluster(client, "exp")
    response = await put_worker(client, "exp", "pio01")
    assert response.status_code == 200, response.text
    assert response.json() == OK
    await settle(services)

    assert await assignment_rows(services) == [("pio01", "exp", T0)]
    [message] = bus.on(topic("pio01"))
    assert message.retain is True
    assert message.qos == 1
    assert message.json() == {
        "pioreactor_unit": "pio01",
        "experiment": "exp",
        "assigned_at": T0,
        "updated_at": T0,
    }
    assert bus.retained()[topic("pio01")] == message.payload
    # A first assignment leaves no experiment whose jobs need stopping.
    assert units.sent == []


async def test_assign_retry_is_a_no_op(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    units: FakeUnits,
    clock: ManualClock,
) -> None:
    """It should answer 200 to a repeated assignment and change, publish and send nothing."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    await settle(services)
    published = len(bus.messages)
    clock.advance(timedelta(hours=2))

    response = await put_worker(client, "exp", "pio01")
    assert response.status_code == 200, response.text
    assert response.json() == OK
    await settle(services)

    assert await assignment_rows(services) == [("pio01", "exp", T0)]
    assert len(bus.messages) == published
    assert len(bus.on(topic("pio01"))) == 1
    assert units.sent == []
    assert await history_rows(services) == [("pio01", "exp", T0, True)]


async def test_assign_moves_worker_between_experiments(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    units: FakeUnits,
    clock: ManualClock,
) -> None:
    """It should move a worker from A to B, stop A's jobs on it and close A's history."""
    await cluster(client, "A", "B")
    await assign(client, "A", "pio01")
    await assign(client, "A", "pio02")
    await settle(services)
    clock.advance(timedelta(minutes=10))
    moved_at = "2026-01-01T12:10:00.000Z"

    assert (await put_worker(client, "B", "pio01")).status_code == 200
    await settle(services)

    assert await assignment_rows(services) == [("pio01", "B", moved_at), ("pio02", "A", T0)]
    assert bus.on(topic("pio01"))[-1].json() == {
        "pioreactor_unit": "pio01",
        "experiment": "B",
        "assigned_at": moved_at,
        "updated_at": moved_at,
    }
    assert sent_to(units, "pio01") == [stop_experiment("A")]
    assert sent_to(units, "pio02") == []

    history_a = (await client.get("/api/experiments/A/historical_worker_assignments")).json()
    assert history_a == [
        {"pioreactor_unit": "pio01", "experiment": "A", "is_currently_assigned_to_experiment": 0},
        {"pioreactor_unit": "pio02", "experiment": "A", "is_currently_assigned_to_experiment": 1},
    ]
    history_b = (await client.get("/api/experiments/B/historical_worker_assignments")).json()
    assert history_b == [
        {"pioreactor_unit": "pio01", "experiment": "B", "is_currently_assigned_to_experiment": 1}
    ]
    assert await history_rows(services) == [
        ("pio01", "A", T0, False),
        ("pio01", "B", moved_at, True),
        ("pio02", "A", T0, True),
    ]
    assert [
        w["pioreactor_unit"] for w in (await client.get("/api/experiments/A/workers")).json()
    ] == ["pio02"]


async def test_assign_back_to_earlier_experiment(
    client: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    """It should list a worker moved A → B → A as currently in A and no longer in B."""
    await cluster(client, "A", "B")
    await assign(client, "A", "pio01")
    clock.advance(timedelta(minutes=1))
    await assign(client, "B", "pio01")
    clock.advance(timedelta(minutes=1))
    await assign(client, "A", "pio01")

    history_a = (await client.get("/api/experiments/A/historical_worker_assignments")).json()
    assert history_a == [
        {"pioreactor_unit": "pio01", "experiment": "A", "is_currently_assigned_to_experiment": 1}
    ]
    history_b = (await client.get("/api/experiments/B/historical_worker_assignments")).json()
    assert history_b == [
        {"pioreactor_unit": "pio01", "experiment": "B", "is_currently_assigned_to_experiment": 0}
    ]
    assert [(u, e) for u, e, _ in await assignment_rows(services)] == [("pio01", "A")]


async def test_assign_to_unknown_experiment_is_404(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should answer 404 (not 500) for an unknown experiment and write nothing."""
    await cluster(client, "exp")
    await settle(services)
    published = len(bus.messages)

    body = assert_error(await put_worker(client, "nope", "pio01"), 404)
    assert "nope" in body["cause"]
    await settle(services)

    assert await assignment_rows(services) == []
    assert await history_rows(services) == []
    assert len(bus.messages) == published
    assert units.sent == []


async def test_assign_to_unknown_experiment_keeps_current_one(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should leave an assigned worker where it is when the target experiment is unknown."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    assert_error(await put_worker(client, "nope", "pio01"), 404)
    await settle(services)
    assert await assignment_rows(services) == [("pio01", "exp", T0)]
    assert units.sent == []


async def test_assign_unknown_worker_is_400(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should answer 400 "Unknown Pioreactor worker" and publish nothing."""
    await cluster(client, "exp")
    await settle(services)
    published = len(bus.messages)
    body = assert_error(await put_worker(client, "exp", "pio09"), 400)
    assert body["error"] == "Unknown Pioreactor worker: pio09"
    await settle(services)
    assert await assignment_rows(services) == []
    assert len(bus.messages) == published


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"pioreactor_unit": 1}, id="int"),
        pytest.param({"pioreactor_unit": "pio01", "extra": 1}, id="extra-field"),
        pytest.param({"pioreactor_unit": "$broadcast"}, id="broadcast"),
        pytest.param({"pioreactor_unit": "a/b"}, id="slash"),
    ],
)
async def test_assign_rejects_bad_bodies(
    client: httpx.AsyncClient, services: Services, body: dict[str, Any]
) -> None:
    """It should answer 400 (never 422) for a missing, mistyped or invalid pioreactor_unit."""
    await cluster(client, "exp")
    response = await client.put("/api/experiments/exp/workers", json=body)
    assert_error(response, 400)
    assert await assignment_rows(services) == []


# -- GET /api/experiments/{experiment}/workers ------------------------------------------------


async def test_list_experiment_workers_sorted(client: httpx.AsyncClient) -> None:
    """It should list only the experiment's workers, by name, with is_active and model."""
    await cluster(client, "exp", "other")
    await add_worker(client, "pio00", model_name="pioreactor_20ml", model_version="1.1")
    await assign(client, "exp", "pio03")
    await assign(client, "exp", "pio00")
    await assign(client, "other", "pio02")
    assert (
        await client.put("/api/workers/pio03/is_active", json={"is_active": 0})
    ).status_code == 200

    response = await client.get("/api/experiments/exp/workers")
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "pioreactor_unit": "pio00",
            "is_active": 1,
            "model_name": "pioreactor_20ml",
            "model_version": "1.1",
        },
        {
            "pioreactor_unit": "pio03",
            "is_active": 0,
            "model_name": "pioreactor_40ml",
            "model_version": "1.5",
        },
    ]


async def test_list_workers_of_empty_experiment(client: httpx.AsyncClient) -> None:
    """It should answer an empty list for an experiment without workers."""
    await cluster(client, "exp")
    response = await client.get("/api/experiments/exp/workers")
    assert response.status_code == 200, response.text
    assert response.json() == []


async def test_list_workers_of_unknown_experiment_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 for an unknown experiment."""
    await cluster(client)
    body = assert_error(await client.get("/api/experiments/nope/workers"), 404)
    assert "nope" in body["cause"]


# -- DELETE /api/experiments/{experiment}/workers/{unit} --------------------------------------


async def test_unassign_worker(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    units: FakeUnits,
    clock: ManualClock,
) -> None:
    """It should answer 200, publish a retained null assignment and stop the experiment's jobs."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    await assign(client, "exp", "pio02")
    await settle(services)
    clock.advance(timedelta(minutes=3))

    response = await client.delete("/api/experiments/exp/workers/pio01")
    assert response.status_code == 200, response.text
    assert response.json() == OK
    await settle(services)

    assert await assignment_rows(services) == [("pio02", "exp", T0)]
    message = bus.on(topic("pio01"))[-1]
    assert message.retain is True
    assert message.json() == null_assignment("pio01", "2026-01-01T12:03:00.000Z")
    assert bus.retained()[topic("pio01")] == message.payload
    assert sent_to(units, "pio01") == [stop_experiment("exp")]
    assert sent_to(units, "pio02") == []
    assert_error(await client.get("/api/workers/pio01/experiment"), 404)
    history = (await client.get("/api/experiments/exp/historical_worker_assignments")).json()
    assert history == [
        {"pioreactor_unit": "pio01", "experiment": "exp", "is_currently_assigned_to_experiment": 0},
        {"pioreactor_unit": "pio02", "experiment": "exp", "is_currently_assigned_to_experiment": 1},
    ]


async def test_unassign_worker_not_in_experiment_is_404(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should answer 404 when the worker is not in that experiment, changing nothing."""
    await cluster(client, "exp", "other")
    await assign(client, "other", "pio01")
    await settle(services)
    published = len(bus.messages)

    body = assert_error(await client.delete("/api/experiments/exp/workers/pio01"), 404)
    assert body["error"] == "Worker not assigned to experiment"
    assert_error(await client.delete("/api/experiments/exp/workers/pio02"), 404)
    await settle(services)

    assert await assignment_rows(services) == [("pio01", "other", T0)]
    assert len(bus.messages) == published
    assert units.sent == []


async def test_unassign_unknown_worker_is_400(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 400 "Unknown Pioreactor worker" for an unregistered worker."""
    await cluster(client, "exp")
    body = assert_error(await client.delete("/api/experiments/exp/workers/pio09"), 400)
    assert body["error"] == "Unknown Pioreactor worker: pio09"
    await settle(services)
    assert units.sent == []


async def test_unassign_twice_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 to a second unassignment of the same worker."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    assert (await client.delete("/api/experiments/exp/workers/pio01")).status_code == 200
    assert_error(await client.delete("/api/experiments/exp/workers/pio01"), 404)


# -- DELETE /api/experiments/{experiment}/workers ---------------------------------------------


async def test_unassign_all_from_experiment(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    units: FakeUnits,
    clock: ManualClock,
) -> None:
    """It should unassign everyone, publish null assignments and stop its jobs on every worker."""
    await cluster(client, "exp", "other")
    await assign(client, "exp", "pio01")
    await assign(client, "exp", "pio02")
    await assign(client, "other", "pio03")
    await settle(services)
    clock.advance(timedelta(minutes=7))
    stamp = "2026-01-01T12:07:00.000Z"
    published = {unit: len(bus.on(topic(unit))) for unit in UNIT_PORTS}

    accepted = await client.delete("/api/experiments/exp/workers")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["result_url_path"].endswith(accepted.json()["task_id"])
    final = await poll_task(client, services, accepted)

    assert final["status"] == "succeeded"
    assert final["result"] == {
        "pio01": success("pio01"),
        "pio02": success("pio02"),
        "pio03": success("pio03"),
    }
    for unit in UNIT_PORTS:
        assert sent_to(units, unit) == [stop_experiment("exp")]
    assert await assignment_rows(services) == [("pio03", "other", T0)]
    assert (await client.get("/api/experiments/exp/workers")).json() == []
    for unit in ("pio01", "pio02"):
        message = bus.on(topic(unit))[-1]
        assert message.retain is True
        assert message.json() == null_assignment(unit, stamp)
    # The worker of the other experiment is left alone.
    assert len(bus.on(topic("pio03"))) == published["pio03"]


async def test_unassign_all_reports_unreachable_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should report a connection_error envelope for a worker that is down, others ok."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    await assign(client, "exp", "pio02")
    units.down.add(UNIT_PORTS["pio02"])

    final = await poll_task(client, services, await client.delete("/api/experiments/exp/workers"))

    assert final["status"] == "succeeded"
    result = final["result"]
    assert set(result) == {"pio01", "pio02", "pio03"}
    assert result["pio01"] == success("pio01")
    assert result["pio03"] == success("pio03")
    failure = result["pio02"]
    assert set(failure) == {"ok", "unit", "error", "status_code", "retryable"}
    assert failure["ok"] is False
    assert failure["unit"] == "pio02"
    assert failure["status_code"] is None
    assert failure["retryable"] is True
    assert failure["error"]["kind"] == "connection_error"
    assert failure["error"]["message"]
    # The database is the truth: the unreachable worker is unassigned all the same.
    assert await assignment_rows(services) == []


async def test_unassign_all_from_empty_experiment_still_stops_jobs(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus, units: FakeUnits
) -> None:
    """It should send the stop to every worker and publish nothing when nobody was assigned."""
    await cluster(client, "exp")
    await settle(services)
    final = await poll_task(client, services, await client.delete("/api/experiments/exp/workers"))
    assert set(final["result"]) == set(UNIT_PORTS)
    assert all(envelope["ok"] for envelope in final["result"].values())
    assert all(bus.on(topic(unit)) == [] for unit in UNIT_PORTS)
    for unit in UNIT_PORTS:
        assert sent_to(units, unit) == [stop_experiment("exp")]


async def test_unassign_all_from_unknown_experiment_is_404(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 404 for an unknown experiment and send nothing."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    assert_error(await client.delete("/api/experiments/nope/workers"), 404)
    await settle(services)
    assert units.sent == []
    assert await assignment_rows(services) == [("pio01", "exp", T0)]


# -- GET /api/experiments/{experiment}/historical_worker_assignments --------------------------


async def test_history_of_experiment_without_workers_is_empty(client: httpx.AsyncClient) -> None:
    """It should answer an empty list for an experiment nobody was ever assigned to."""
    await cluster(client, "exp")
    response = await client.get("/api/experiments/exp/historical_worker_assignments")
    assert response.status_code == 200, response.text
    assert response.json() == []


async def test_history_keeps_removed_worker(client: httpx.AsyncClient) -> None:
    """It should keep listing a worker removed from the inventory, as no longer assigned."""
    await cluster(client, "exp")
    await assign(client, "exp", "pio01")
    assert (await client.delete("/api/workers/pio01")).status_code == 202
    history = (await client.get("/api/experiments/exp/historical_worker_assignments")).json()
    assert history == [
        {"pioreactor_unit": "pio01", "experiment": "exp", "is_currently_assigned_to_experiment": 0}
    ]


# -- GET/DELETE /api/workers/assignments ------------------------------------------------------


async def test_all_assignments(client: httpx.AsyncClient) -> None:
    """It should list every worker, by name, with its experiment or null and is_active."""
    await cluster(client, "A", "B")
    await assign(client, "A", "pio01")
    await assign(client, "B", "pio03")
    assert (
        await client.put("/api/workers/pio03/is_active", json={"is_active": 0})
    ).status_code == 200

    response = await client.get("/api/workers/assignments")
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"pioreactor_unit": "pio01", "experiment": "A", "is_active": 1},
        {"pioreactor_unit": "pio02", "experiment": None, "is_active": 1},
        {"pioreactor_unit": "pio03", "experiment": "B", "is_active": 0},
    ]


async def test_all_assignments_empty(client: httpx.AsyncClient) -> None:
    """It should answer an empty list when no worker is registered."""
    response = await client.get("/api/workers/assignments")
    assert response.status_code == 200, response.text
    assert response.json() == []


async def test_remove_all_assignments(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    units: FakeUnits,
    clock: ManualClock,
) -> None:
    """It should unassign every worker, publish null assignments and stop all jobs everywhere."""
    await cluster(client, "A", "B")
    await assign(client, "A", "pio01")
    await assign(client, "B", "pio02")
    await settle(services)
    clock.advance(timedelta(minutes=1))
    stamp = "2026-01-01T12:01:00.000Z"

    accepted = await client.delete("/api/workers/assignments")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "accepted"
    final = await poll_task(client, services, accepted)

    assert final["status"] == "succeeded"
    assert final["result"] == {unit: success(unit) for unit in UNIT_PORTS}
    for unit in UNIT_PORTS:
        assert sent_to(units, unit) == [(*STOP_ALL, {})]
    assert await assignment_rows(services) == []
    assert [a["experiment"] for a in (await client.get("/api/workers/assignments")).json()] == [
        None,
        None,
        None,
    ]
    for unit in ("pio01", "pio02"):
        message = bus.on(topic(unit))[-1]
        assert message.retain is True
        assert message.json() == null_assignment(unit, stamp)
    # pio03 was in no experiment: nothing to announce.
    assert bus.on(topic("pio03")) == []
    assert await history_rows(services) == [
        ("pio01", "A", T0, False),
        ("pio02", "B", T0, False),
    ]


async def test_remove_all_assignments_with_a_worker_down(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should unassign everyone and report the unreachable worker's failure envelope."""
    await cluster(client, "A")
    await assign(client, "A", "pio03")
    units.down.add(UNIT_PORTS["pio03"])
    final = await poll_task(client, services, await client.delete("/api/workers/assignments"))
    result = final["result"]
    assert result["pio01"] == success("pio01")
    assert result["pio02"] == success("pio02")
    assert result["pio03"]["ok"] is False
    assert result["pio03"]["error"]["kind"] == "connection_error"
    assert await assignment_rows(services) == []


async def test_remove_all_assignments_without_workers(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should succeed with an empty result when no worker is registered."""
    final = await poll_task(client, services, await client.delete("/api/workers/assignments"))
    assert final["status"] == "succeeded"
    assert final["result"] == {}
    assert units.sent == []
