"""The worker inventory: ``/api/workers``, ``/api/workers/{unit}`` and its ``is_active``,
``model`` and ``experiment`` sub-resources: bodies, validation and side effects."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.services import Services
from tests.conftest import UNIT_PORTS, add_worker, create_experiment, settle
from tests.fakes import FakeUnits

ADDED_AT = "2026-01-01T12:00:00.000Z"
STOP_ALL = ("POST", "/unit_api/jobs/stop/all")
HARDWARE_CHECK = ("POST", "/unit_api/hardware/check")


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


def sent_to(units: FakeUnits, unit: str) -> list[tuple[str, str, Any]]:
    return [(sent.method, sent.path, sent.body) for sent in units.to(UNIT_PORTS[unit])]


async def assign(client: httpx.AsyncClient, experiment: str, unit: str) -> None:
    response = await client.put(
        f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
    )
    assert response.status_code == 200, response.text


async def worker_rows(services: Services) -> list[dict[str, Any]]:
    def select(connection: sqlite3.Connection) -> list[dict[str, Any]]:
        rows = connection.execute(
            "SELECT pioreactor_unit, added_at, is_active, model_name, model_version"
            " FROM workers ORDER BY pioreactor_unit"
        ).fetchall()
        return [dict(row) for row in rows]

    return await services.db.read(select)


async def assignment_rows(services: Services) -> list[tuple[str, str]]:
    def select(connection: sqlite3.Connection) -> list[tuple[str, str]]:
        rows = connection.execute(
            "SELECT pioreactor_unit, experiment FROM experiment_worker_assignments"
            " ORDER BY pioreactor_unit"
        ).fetchall()
        return [(row["pioreactor_unit"], row["experiment"]) for row in rows]

    return await services.db.read(select)


# -- PUT /api/workers ----------------------------------------------------------------------------


async def test_add_new_worker_is_201(client: httpx.AsyncClient, services: Services) -> None:
    """It should answer 201 success and store the worker, active, stamped with the clock."""
    response = await client.put(
        "/api/workers",
        json={"pioreactor_unit": "pio01", "model_name": "pioreactor_20ml", "model_version": "1.5"},
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"status": "success"}
    assert await worker_rows(services) == [
        {
            "pioreactor_unit": "pio01",
            "added_at": ADDED_AT,
            "is_active": 1,
            "model_name": "pioreactor_20ml",
            "model_version": "1.5",
        }
    ]


async def test_add_worker_without_model(client: httpx.AsyncClient) -> None:
    """It should accept a worker with neither model_name nor model_version, leaving both null."""
    response = await client.put("/api/workers", json={"pioreactor_unit": "pio01"})
    assert response.status_code == 201, response.text
    worker = (await client.get("/api/workers/pio01")).json()
    assert worker["model_name"] is None
    assert worker["model_version"] is None


async def test_add_worker_retry_is_200_and_keeps_state(
    client: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    """It should answer 200 to a retry and keep added_at, is_active and the assignment."""
    await add_worker(client, "pio01")
    await create_experiment(client, "exp")
    await assign(client, "exp", "pio01")
    assert (
        await client.put("/api/workers/pio01/is_active", json={"is_active": 0})
    ).status_code == 200
    clock.advance(timedelta(hours=1))

    response = await client.put(
        "/api/workers",
        json={"pioreactor_unit": "pio01", "model_name": "pioreactor_40ml", "model_version": "1.5"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}
    assert await worker_rows(services) == [
        {
            "pioreactor_unit": "pio01",
            "added_at": ADDED_AT,
            "is_active": 0,
            "model_name": "pioreactor_40ml",
            "model_version": "1.5",
        }
    ]
    assert await assignment_rows(services) == [("pio01", "exp")]
    experiment = await client.get("/api/workers/pio01/experiment")
    assert experiment.status_code == 200, experiment.text
    assert experiment.json()["experiment"] == "exp"


async def test_add_worker_retry_with_other_model_updates_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should apply a different known model given with a retry."""
    await add_worker(client, "pio01")
    response = await client.put(
        "/api/workers",
        json={"pioreactor_unit": "pio01", "model_name": "pioreactor_20ml", "model_version": "1.1"},
    )
    assert response.status_code == 200, response.text
    rows = await worker_rows(services)
    assert [(r["model_name"], r["model_version"]) for r in rows] == [("pioreactor_20ml", "1.1")]
    assert rows[0]["added_at"] == ADDED_AT


async def test_add_worker_retry_without_model_keeps_model(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should keep the recorded model when a retry names no model."""
    await add_worker(client, "pio01", model_name="pioreactor_20ml", model_version="1.0")
    response = await client.put("/api/workers", json={"pioreactor_unit": "pio01"})
    assert response.status_code == 200, response.text
    rows = await worker_rows(services)
    assert [(r["model_name"], r["model_version"]) for r in rows] == [("pioreactor_20ml", "1.0")]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("pio 01", id="space"),
        pytest.param("$broadcast", id="broadcast"),
        pytest.param("localhost", id="localhost"),
        pytest.param("a/b", id="slash"),
        pytest.param("123", id="number"),
        pytest.param("", id="empty"),
        pytest.param("p" * 64, id="64-chars"),
        pytest.param("192.168.1.2", id="ip-address"),
        pytest.param("pio#1", id="hash"),
        pytest.param("pio+", id="plus"),
        pytest.param("pio\n01", id="newline"),
    ],
)
async def test_add_worker_rejects_invalid_names(
    client: httpx.AsyncClient, services: Services, name: str
) -> None:
    """It should answer 400 naming pioreactor_unit for an invalid worker name, storing nothing."""
    response = await client.put("/api/workers", json={"pioreactor_unit": name})
    body = assert_error(response, 400)
    assert "pioreactor_unit" in body["cause"]
    assert await worker_rows(services) == []


async def test_add_worker_accepts_63_char_name(client: httpx.AsyncClient) -> None:
    """It should accept a name of 63 characters, the longest hostname label."""
    name = "p" * 63
    response = await client.put("/api/workers", json={"pioreactor_unit": name})
    assert response.status_code == 201, response.text
    assert (await client.get(f"/api/workers/{name}")).status_code == 200


async def test_add_worker_accepts_letters_digits_underscore_dash(
    client: httpx.AsyncClient,
) -> None:
    """It should accept names made of letters, digits, '_' and '-'."""
    response = await client.put("/api/workers", json={"pioreactor_unit": "Pio_01-b"})
    assert response.status_code == 201, response.text


async def test_add_worker_rejects_unknown_model(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should answer 400 for an unknown model pair, listing the known ones, storing nothing."""
    response = await client.put(
        "/api/workers",
        json={"pioreactor_unit": "pio01", "model_name": "pioreactor_40ml", "model_version": "9.9"},
    )
    body = assert_error(response, 400)
    assert "9.9" in body["cause"]
    assert "pioreactor_40ml 1.5" in body["remediation"]
    assert await worker_rows(services) == []


async def test_add_worker_retry_with_unknown_model_keeps_model(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should reject a retry naming an unknown model and keep the recorded one."""
    await add_worker(client, "pio01")
    response = await client.put(
        "/api/workers",
        json={"pioreactor_unit": "pio01", "model_name": "nope", "model_version": "1.5"},
    )
    assert_error(response, 400)
    rows = await worker_rows(services)
    assert [(r["model_name"], r["model_version"]) for r in rows] == [("pioreactor_40ml", "1.5")]


@pytest.mark.parametrize(
    "model",
    [
        pytest.param({"model_name": "pioreactor_40ml"}, id="name-only"),
        pytest.param({"model_version": "1.5"}, id="version-only"),
    ],
)
async def test_add_worker_needs_both_model_fields(
    client: httpx.AsyncClient, services: Services, model: dict[str, str]
) -> None:
    """It should answer 400 when only one of model_name and model_version is given."""
    response = await client.put("/api/workers", json={"pioreactor_unit": "pio01", **model})
    body = assert_error(response, 400)
    assert "model_name" in body["cause"] and "model_version" in body["cause"]
    assert await worker_rows(services) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"pioreactor_unit": "pio01", "is_active": "yes"}, id="is_active-string"),
        pytest.param({"pioreactor_unit": 1}, id="unit-int"),
        pytest.param({"pioreactor_unit": "pio01", "model_name": 40, "model_version": "1.5"}),
        pytest.param({}, id="empty-body"),
        pytest.param(["pio01"], id="array-body"),
    ],
)
async def test_add_worker_rejects_wrong_types_with_400(
    client: httpx.AsyncClient, services: Services, body: Any
) -> None:
    """It should answer 400 (never 422) for a body with missing, extra or wrongly typed fields."""
    assert_error(await client.put("/api/workers", json=body), 400)
    assert await worker_rows(services) == []


async def test_add_worker_rejects_invalid_json(client: httpx.AsyncClient) -> None:
    """It should answer 400 for a body that is not JSON."""
    response = await client.put(
        "/api/workers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)


# -- GET /api/workers ------------------------------------------------------------------------------


async def test_list_workers_is_empty_at_first(client: httpx.AsyncClient) -> None:
    """It should list no workers before any is registered."""
    response = await client.get("/api/workers")
    assert response.status_code == 200, response.text
    assert response.json() == []


async def test_list_workers_sorted_with_addresses(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """It should list workers by name with their [cluster.addresses] IPv4 address or null."""
    await add_worker(client, "pio03")
    clock.advance(timedelta(minutes=1))
    await add_worker(client, "pio01", model_name="pioreactor_20ml", model_version="1.5")
    await add_worker(client, "pio04")
    assert (
        await client.put("/api/workers/pio03/is_active", json={"is_active": 0})
    ).status_code == 200

    response = await client.get("/api/workers")
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "pioreactor_unit": "pio01",
            "added_at": "2026-01-01T12:01:00.000Z",
            "is_active": 1,
            "model_name": "pioreactor_20ml",
            "model_version": "1.5",
            "ipv4_address": "127.0.0.1",
        },
        {
            "pioreactor_unit": "pio03",
            "added_at": ADDED_AT,
            "is_active": 0,
            "model_name": "pioreactor_40ml",
            "model_version": "1.5",
            "ipv4_address": "127.0.0.1",
        },
        {
            "pioreactor_unit": "pio04",
            "added_at": "2026-01-01T12:01:00.000Z",
            "is_active": 1,
            "model_name": "pioreactor_40ml",
            "model_version": "1.5",
            "ipv4_address": None,
        },
    ]


# -- GET /api/workers/{unit} --------------------------------------------------------------------


async def test_get_worker(client: httpx.AsyncClient) -> None:
    """It should answer the worker's row with is_active and its model."""
    await add_worker(client, "pio01")
    response = await client.get("/api/workers/pio01")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "pioreactor_unit": "pio01",
        "added_at": ADDED_AT,
        "is_active": 1,
        "model_name": "pioreactor_40ml",
        "model_version": "1.5",
    }


async def test_get_unknown_worker_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 with the error "Worker X not found." workers parse."""
    await add_worker(client, "pio01")
    body = assert_error(await client.get("/api/workers/pio09"), 404)
    assert body["error"] == "Worker pio09 not found."


# -- DELETE /api/workers/{unit} -----------------------------------------------------------------


async def test_delete_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 202 success, drop the row and ask the unit to stop all its jobs."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    response = await client.delete("/api/workers/pio01")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "success"}
    await settle(services)

    assert [r["pioreactor_unit"] for r in await worker_rows(services)] == ["pio02"]
    assert_error(await client.get("/api/workers/pio01"), 404)
    assert sent_to(units, "pio01") == [(*STOP_ALL, {})]
    assert sent_to(units, "pio02") == []


async def test_delete_assigned_worker_drops_and_publishes_assignment(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    clock: ManualClock,
) -> None:
    """It should remove the worker's assignment and publish a retained null assignment."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    await create_experiment(client, "exp")
    await assign(client, "exp", "pio01")
    await assign(client, "exp", "pio02")
    clock.advance(timedelta(minutes=5))

    assert (await client.delete("/api/workers/pio01")).status_code == 202
    await settle(services)

    assert await assignment_rows(services) == [("pio02", "exp")]
    messages = bus.on("pioreactor/pio01/$experiment/assignment")
    assert messages[-1].retain is True
    assert messages[-1].json() == {
        "pioreactor_unit": "pio01",
        "experiment": None,
        "assigned_at": None,
        "updated_at": "2026-01-01T12:05:00.000Z",
    }
    workers = (await client.get("/api/experiments/exp/workers")).json()
    assert [w["pioreactor_unit"] for w in workers] == ["pio02"]


async def test_delete_unassigned_worker_publishes_no_assignment(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should publish no assignment message for a worker that was in no experiment."""
    await add_worker(client, "pio01")
    assert (await client.delete("/api/workers/pio01")).status_code == 202
    await settle(services)
    assert bus.on("pioreactor/pio01/$experiment/assignment") == []


async def test_delete_worker_drops_its_config_history(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should delete the worker's unit_config.ini history rows and keep everyone else's."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")

    def insert(connection: sqlite3.Connection) -> None:
        connection.executemany(
            "INSERT INTO config_files_histories (timestamp, filename, data) VALUES (?, ?, ?)",
            [
                (ADDED_AT, "unit_config.ini::pio01", "[a]\nb=1\n"),
                (ADDED_AT, "config_pio01.ini", "[a]\nb=2\n"),
                (ADDED_AT, "unit_config.ini::pio02", "[a]\nb=3\n"),
                (ADDED_AT, "config.ini", "[a]\nb=4\n"),
            ],
        )

    await services.db.write(insert)
    assert (await client.delete("/api/workers/pio01")).status_code == 202
    await settle(services)

    def select(connection: sqlite3.Connection) -> list[str]:
        rows = connection.execute(
            "SELECT DISTINCT filename FROM config_files_histories ORDER BY filename"
        ).fetchall()
        return [row["filename"] for row in rows]

    assert await services.db.read(select) == ["config.ini", "unit_config.ini::pio02"]


async def test_delete_unknown_worker_is_404(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 404 "Worker X not found." and send nothing to any unit."""
    await add_worker(client, "pio02")
    body = assert_error(await client.delete("/api/workers/pio01"), 404)
    assert body["error"] == "Worker pio01 not found."
    await settle(services)
    assert units.sent == []


async def test_delete_worker_twice_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 to a second delete of the same worker."""
    await add_worker(client, "pio01")
    assert (await client.delete("/api/workers/pio01")).status_code == 202
    assert_error(await client.delete("/api/workers/pio01"), 404)


async def test_delete_worker_while_unit_is_down(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should still remove the worker when the unit cannot be reached."""
    await add_worker(client, "pio01")
    units.down.add(UNIT_PORTS["pio01"])
    assert (await client.delete("/api/workers/pio01")).status_code == 202
    await settle(services)
    assert await worker_rows(services) == []
    assert sent_to(units, "pio01") == [(*STOP_ALL, {})]


# -- PUT /api/workers/{unit}/is_active ----------------------------------------------------------


async def test_deactivate_worker_stops_its_jobs(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should set is_active to 0 and ask that worker (only) to stop all its jobs."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    response = await client.put("/api/workers/pio01/is_active", json={"is_active": 0})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}
    await settle(services)

    assert (await client.get("/api/workers/pio01")).json()["is_active"] == 0
    assert (await client.get("/api/workers/pio02")).json()["is_active"] == 1
    assert sent_to(units, "pio01") == [(*STOP_ALL, {})]
    assert sent_to(units, "pio02") == []


async def test_activate_worker_sends_nothing(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should set is_active back to 1 without sending a stop request."""
    await add_worker(client, "pio01")
    assert (
        await client.put("/api/workers/pio01/is_active", json={"is_active": 0})
    ).status_code == 200
    await settle(services)
    units.sent.clear()

    response = await client.put("/api/workers/pio01/is_active", json={"is_active": 1})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}
    await settle(services)
    assert (await client.get("/api/workers/pio01")).json()["is_active"] == 1
    assert units.sent == []


async def test_deactivate_keeps_assignment(client: httpx.AsyncClient) -> None:
    """It should keep the worker in its experiment when deactivating it."""
    await add_worker(client, "pio01")
    await create_experiment(client, "exp")
    await assign(client, "exp", "pio01")
    assert (
        await client.put("/api/workers/pio01/is_active", json={"is_active": 0})
    ).status_code == 200
    body = (await client.get("/api/workers/pio01/experiment")).json()
    assert body["experiment"] == "exp"
    assert body["is_active"] == 0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(2, id="two"),
        pytest.param(-1, id="minus-one"),
        pytest.param("1", id="string-one"),
        pytest.param(1.0, id="float-one"),
        pytest.param(None, id="null"),
    ],
)
async def test_is_active_rejects_non_0_1_values(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, value: Any
) -> None:
    """It should answer 400 naming is_active for anything but the integers 0 and 1."""
    await add_worker(client, "pio01")
    response = await client.put("/api/workers/pio01/is_active", json={"is_active": value})
    body = assert_error(response, 400)
    assert "is_active" in body["cause"]
    await settle(services)
    assert (await client.get("/api/workers/pio01")).json()["is_active"] == 1
    assert units.sent == []


async def test_is_active_rejects_missing_field(client: httpx.AsyncClient) -> None:
    """It should answer 400 for a body without is_active."""
    await add_worker(client, "pio01")
    assert_error(await client.put("/api/workers/pio01/is_active", json={}), 400)


async def test_is_active_of_unknown_worker_is_400(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 400 "Unknown Pioreactor worker" and send nothing."""
    response = await client.put("/api/workers/pio01/is_active", json={"is_active": 0})
    body = assert_error(response, 400)
    assert body["error"] == "Unknown Pioreactor worker: pio01"
    await settle(services)
    assert units.sent == []


# -- GET/PUT /api/workers/{unit}/model ----------------------------------------------------------


async def test_change_model(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should record a known model and ask the worker to check its hardware."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    response = await client.put(
        "/api/workers/pio01/model",
        json={"model_name": "pioreactor_20ml", "model_version": "1.0"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}
    await settle(services)

    worker = (await client.get("/api/workers/pio01")).json()
    assert (worker["model_name"], worker["model_version"]) == ("pioreactor_20ml", "1.0")
    assert sent_to(units, "pio01") == [(*HARDWARE_CHECK, {})]
    assert sent_to(units, "pio02") == []


async def test_get_model_merges_the_model_record(client: httpx.AsyncClient) -> None:
    """It should answer the worker's name merged with its model's full record."""
    await add_worker(client, "pio01")
    assert (
        await client.put(
            "/api/workers/pio01/model",
            json={"model_name": "pioreactor_20ml", "model_version": "1.0"},
        )
    ).status_code == 200

    response = await client.get("/api/workers/pio01/model")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "pioreactor_unit": "pio01",
        "model_name": "pioreactor_20ml",
        "model_version": "1.0",
        "display_name": "Pioreactor 20ml, v1.0",
        "reactor_capacity_ml": 20.0,
        "reactor_diameter_mm": 27.0,
        "reactor_max_fill_volume_ml": 18.0,
        "max_temp_to_reduce_heating": 63.0,
        "max_temp_to_disable_heating": 65.0,
        "max_temp_to_shutdown": 66.0,
        "is_legacy": True,
        "is_contrib": False,
    }


async def test_change_model_to_unknown_pair_is_400(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 400 for an unknown model pair, keep the model and send nothing."""
    await add_worker(client, "pio01")
    response = await client.put(
        "/api/workers/pio01/model",
        json={"model_name": "pioreactor_20ml", "model_version": "7.0"},
    )
    body = assert_error(response, 400)
    assert "pioreactor_20ml" in body["cause"] and "7.0" in body["cause"]
    await settle(services)
    worker = (await client.get("/api/workers/pio01")).json()
    assert (worker["model_name"], worker["model_version"]) == ("pioreactor_40ml", "1.5")
    assert units.sent == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"model_name": "pioreactor_20ml"}, id="no-version"),
        pytest.param({"model_version": "1.5"}, id="no-name"),
        pytest.param({"model_name": "pioreactor_20ml", "model_version": 1.5}, id="float-version"),
        pytest.param({}, id="empty"),
    ],
)
async def test_change_model_rejects_bad_bodies(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    """It should answer 400 for a model body with missing or wrongly typed fields."""
    await add_worker(client, "pio01")
    assert_error(await client.put("/api/workers/pio01/model", json=body), 400)


async def test_change_model_of_unknown_worker_is_400(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 400 "Unknown Pioreactor worker" when setting an unknown worker's model."""
    response = await client.put(
        "/api/workers/pio01/model",
        json={"model_name": "pioreactor_20ml", "model_version": "1.5"},
    )
    body = assert_error(response, 400)
    assert body["error"] == "Unknown Pioreactor worker: pio01"
    await settle(services)
    assert units.sent == []


async def test_get_model_of_unknown_worker_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 "Worker X not found." for an unknown worker's model."""
    body = assert_error(await client.get("/api/workers/pio01/model"), 404)
    assert body["error"] == "Worker pio01 not found."


async def test_get_model_when_unset_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 when the worker has no model recorded."""
    response = await client.put("/api/workers", json={"pioreactor_unit": "pio01"})
    assert response.status_code == 201, response.text
    body = assert_error(await client.get("/api/workers/pio01/model"), 404)
    assert body["error"] == "Model not set"
    assert "pio01" in body["cause"]


# -- GET /api/workers/{unit}/experiment ---------------------------------------------------------


async def test_experiment_of_assigned_worker(client: httpx.AsyncClient) -> None:
    """It should answer the worker's experiment with is_active and model, uncached."""
    await add_worker(client, "pio01", model_name="pioreactor_20ml", model_version="1.5")
    await create_experiment(client, "exp")
    await assign(client, "exp", "pio01")

    response = await client.get("/api/workers/pio01/experiment")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "pioreactor_unit": "pio01",
        "is_active": 1,
        "experiment": "exp",
        "model_name": "pioreactor_20ml",
        "model_version": "1.5",
    }
    assert response.headers["Cache-Control"] == "public, max-age=0"


async def test_experiment_follows_a_move(client: httpx.AsyncClient) -> None:
    """It should answer the new experiment after the worker is moved."""
    await add_worker(client, "pio01")
    await create_experiment(client, "a")
    await create_experiment(client, "b")
    await assign(client, "a", "pio01")
    await assign(client, "b", "pio01")
    assert (await client.get("/api/workers/pio01/experiment")).json()["experiment"] == "b"


async def test_experiment_of_unassigned_worker_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 "Worker `X` is not assigned to any experiment." (workers parse it)."""
    await add_worker(client, "pio01")
    await create_experiment(client, "exp")
    body = assert_error(await client.get("/api/workers/pio01/experiment"), 404)
    assert body["error"] == "Worker `pio01` is not assigned to any experiment."


async def test_experiment_of_unknown_worker_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 "Worker X not found." for an unknown worker."""
    body = assert_error(await client.get("/api/workers/pio01/experiment"), 404)
    assert body["error"] == "Worker pio01 not found."


@pytest.mark.parametrize("name", ["assignments", "discover"])
async def test_add_worker_rejects_route_words(
    client: httpx.AsyncClient, services: Services, name: str
) -> None:
    """It should reject names that /api/workers/{name} could never reach (fixed routes win)."""
    body = assert_error(await client.put("/api/workers", json={"pioreactor_unit": name}), 400)
    assert "pioreactor_unit" in body["cause"]
    assert await worker_rows(services) == []


def task_answer(status: int, body: dict[str, Any]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return handler


async def test_worker_task_result_proxied(client: httpx.AsyncClient, units: FakeUnits) -> None:
    """It should ask the worker once, keep its 202 or 200, and point result_url_path back at
    the leader's proxy."""
    await add_worker(client, "pio01")
    path = "/api/workers/pio01/task_results/abc123"
    running = {"task_id": "abc123", "result_url_path": "/unit_api/task_results/abc123"}
    units.handlers[UNIT_PORTS["pio01"]] = task_answer(202, {**running, "status": "running"})
    response = await client.get(path)
    assert response.status_code == 202
    assert response.json() == {"task_id": "abc123", "result_url_path": path, "status": "running"}
    assert [(s.method, s.path) for s in units.to(UNIT_PORTS["pio01"])] == [
        ("GET", "/unit_api/task_results/abc123")
    ]

    done = {**running, "status": "succeeded", "result": {"pio01": 3}}
    units.handlers[UNIT_PORTS["pio01"]] = task_answer(200, done)
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json()["result"] == {"pio01": 3}


async def test_worker_task_result_errors(client: httpx.AsyncClient, units: FakeUnits) -> None:
    """It should pass the worker's 404 on, answer 502 for an unreachable worker or a garbled
    status, and 400 for an unknown worker or a task id that cannot be one."""
    await add_worker(client, "pio01")
    path = "/api/workers/pio01/task_results/abc123"
    units.handlers[UNIT_PORTS["pio01"]] = task_answer(
        404,
        {"error": "Task not found", "cause": "no task abc123", "remediation": "x", "status": 404},
    )
    missing = await client.get(path)
    assert missing.status_code == 404 and "abc123" in missing.json()["cause"]
    units.handlers[UNIT_PORTS["pio01"]] = task_answer(200, {"task_id": "abc123"})
    assert (await client.get(path)).status_code == 502
    units.down.add(UNIT_PORTS["pio01"])
    assert (await client.get(path)).status_code == 502
    assert (await client.get("/api/workers/nope/task_results/abc123")).status_code == 400
    assert (await client.get("/api/workers/pio01/task_results/a%20b")).status_code == 400
