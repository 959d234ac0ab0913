"""``/api/experiments/{experiment}/unit_labels``: GET, PUT and PATCH, with ``current``."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest

from pioleader.services import Services
from tests.conftest import add_worker, create_experiment, settle

METHODS = ["PUT", "PATCH"]


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


async def set_label(
    client: httpx.AsyncClient, experiment: str, unit: str, label: str, method: str = "PUT"
) -> httpx.Response:
    return await client.request(
        method,
        f"/api/experiments/{experiment}/unit_labels",
        json={"unit": unit, "label": label},
    )


async def labels(client: httpx.AsyncClient, experiment: str) -> dict[str, str]:
    response = await client.get(f"/api/experiments/{experiment}/unit_labels")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def label_rows(services: Services) -> list[dict[str, Any]]:
    def select(connection: sqlite3.Connection) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = connection.execute(
            "SELECT experiment, pioreactor_unit, label, created_at FROM pioreactor_unit_labels"
            " ORDER BY experiment, pioreactor_unit"
        ).fetchall()
        return rows

    return await services.db.read(select)


@pytest.fixture
async def cluster(client: httpx.AsyncClient) -> None:
    """Two experiments (``exp2`` is the latest) and three workers."""
    await create_experiment(client, "exp1")
    await create_experiment(client, "exp2")
    for unit in ("pio01", "pio02", "pio03"):
        await add_worker(client, unit)


async def test_no_labels_at_first(client: httpx.AsyncClient, cluster: None) -> None:
    """It should answer an empty map for an experiment without labels."""
    assert await labels(client, "exp1") == {}


@pytest.mark.parametrize("method", METHODS)
async def test_set_label(
    client: httpx.AsyncClient, services: Services, cluster: None, method: str
) -> None:
    """It should answer 201 success and store the label for the unit in that experiment."""
    response = await set_label(client, "exp1", "pio01", "Reactor A", method)
    assert response.status_code == 201, response.text
    assert response.json() == {"status": "success"}
    assert await labels(client, "exp1") == {"pio01": "Reactor A"}
    assert await labels(client, "exp2") == {}
    assert await label_rows(services) == [
        {
            "experiment": "exp1",
            "pioreactor_unit": "pio01",
            "label": "Reactor A",
            "created_at": "2026-01-01T12:00:00.000Z",
        }
    ]


async def test_labels_of_several_units(client: httpx.AsyncClient, cluster: None) -> None:
    """It should map every labelled unit, including the leader, to its label."""
    for unit, label in (("pio02", "B"), ("leader", "L"), ("pio01", "A")):
        assert (await set_label(client, "exp1", unit, label)).status_code == 201
    assert await labels(client, "exp1") == {"leader": "L", "pio01": "A", "pio02": "B"}


@pytest.mark.parametrize("method", METHODS)
async def test_relabel_replaces(
    client: httpx.AsyncClient, services: Services, cluster: None, method: str
) -> None:
    """It should replace a unit's label rather than add a second one."""
    await set_label(client, "exp1", "pio01", "old")
    response = await set_label(client, "exp1", "pio01", "new", method)
    assert response.status_code == 201
    assert await labels(client, "exp1") == {"pio01": "new"}
    assert len(await label_rows(services)) == 1


async def test_same_label_again_is_fine(client: httpx.AsyncClient, cluster: None) -> None:
    """It should accept setting a unit's label to the label it already has."""
    await set_label(client, "exp1", "pio01", "A")
    response = await set_label(client, "exp1", "pio01", "A")
    assert response.status_code == 201
    assert await labels(client, "exp1") == {"pio01": "A"}


async def test_label_is_trimmed(client: httpx.AsyncClient, cluster: None) -> None:
    """It should store the label without surrounding whitespace."""
    await set_label(client, "exp1", "pio01", "  A  ")
    assert await labels(client, "exp1") == {"pio01": "A"}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("empty", ["", "   "])
async def test_empty_label_deletes(
    client: httpx.AsyncClient, services: Services, cluster: None, method: str, empty: str
) -> None:
    """It should remove the unit's label when given an empty or blank label."""
    await set_label(client, "exp1", "pio01", "A")
    await set_label(client, "exp1", "pio02", "B")
    response = await set_label(client, "exp1", "pio01", empty, method)
    assert response.status_code == 201
    assert response.json() == {"status": "success"}
    assert await labels(client, "exp1") == {"pio02": "B"}
    assert [row["pioreactor_unit"] for row in await label_rows(services)] == ["pio02"]


async def test_empty_label_without_label_is_fine(client: httpx.AsyncClient, cluster: None) -> None:
    """It should accept removing the label of a unit that has none."""
    response = await set_label(client, "exp1", "pio01", "")
    assert response.status_code == 201
    assert await labels(client, "exp1") == {}


@pytest.mark.parametrize("method", METHODS)
async def test_label_held_by_another_unit_is_409(
    client: httpx.AsyncClient, cluster: None, method: str
) -> None:
    """It should refuse a label another unit holds with 409; both units keep their labels."""
    await set_label(client, "exp1", "pio01", "A")
    await set_label(client, "exp1", "pio02", "B")
    body = assert_error(await set_label(client, "exp1", "pio02", "A", method), 409)
    assert body["error"] == "Label already in use"
    assert "pio01" in body["cause"]
    assert await labels(client, "exp1") == {"pio01": "A", "pio02": "B"}


async def test_conflict_compares_trimmed_labels(client: httpx.AsyncClient, cluster: None) -> None:
    """It should detect a conflict even when the new label has surrounding whitespace."""
    await set_label(client, "exp1", "pio01", "A")
    assert_error(await set_label(client, "exp1", "pio02", " A "), 409)
    assert await labels(client, "exp1") == {"pio01": "A"}


async def test_same_label_in_other_experiment(client: httpx.AsyncClient, cluster: None) -> None:
    """It should allow the same label for different units in different experiments."""
    await set_label(client, "exp1", "pio01", "A")
    response = await set_label(client, "exp2", "pio02", "A")
    assert response.status_code == 201
    assert await labels(client, "exp1") == {"pio01": "A"}
    assert await labels(client, "exp2") == {"pio02": "A"}


async def test_freed_label_can_be_taken(client: httpx.AsyncClient, cluster: None) -> None:
    """It should let a unit take a label once its holder has been relabelled."""
    await set_label(client, "exp1", "pio01", "A")
    await set_label(client, "exp1", "pio01", "Z")
    assert (await set_label(client, "exp1", "pio02", "A")).status_code == 201
    assert await labels(client, "exp1") == {"pio01": "Z", "pio02": "A"}


async def test_current_means_latest(client: httpx.AsyncClient, cluster: None) -> None:
    """It should read and write the latest experiment's labels through 'current'."""
    for method in METHODS:
        response = await set_label(client, "current", "pio01", f"via {method}", method)
        assert response.status_code == 201, response.text
    assert await labels(client, "current") == {"pio01": "via PATCH"}
    assert await labels(client, "exp2") == {"pio01": "via PATCH"}
    assert await labels(client, "exp1") == {}


async def test_current_follows_new_experiment(client: httpx.AsyncClient, cluster: None) -> None:
    """It should point 'current' at an experiment as soon as it is created."""
    await set_label(client, "current", "pio01", "A")
    await create_experiment(client, "exp3")
    assert await labels(client, "current") == {}
    await set_label(client, "current", "pio01", "B")
    assert await labels(client, "exp3") == {"pio01": "B"}
    assert await labels(client, "exp2") == {"pio01": "A"}


async def test_current_without_experiments_is_404(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should answer 404 for 'current' when there is no experiment, for GET, PUT and PATCH."""
    await add_worker(client, "pio01")
    assert_error(await client.get("/api/experiments/current/unit_labels"), 404)
    for method in METHODS:
        assert_error(await set_label(client, "current", "pio01", "A", method), 404)
    assert await label_rows(services) == []


@pytest.mark.parametrize("method", METHODS)
async def test_unknown_unit_is_400(
    client: httpx.AsyncClient, services: Services, cluster: None, method: str
) -> None:
    """It should refuse a unit that is neither the leader nor a registered worker."""
    body = assert_error(await set_label(client, "exp1", "pio99", "A", method), 400)
    assert "pio99" in body["cause"]
    assert await label_rows(services) == []


@pytest.mark.parametrize("method", METHODS)
async def test_unknown_experiment_is_404(
    client: httpx.AsyncClient, services: Services, cluster: None, method: str
) -> None:
    """It should refuse to label a unit in an experiment that does not exist."""
    body = assert_error(await set_label(client, "ghost", "pio01", "A", method), 404)
    assert "ghost" in body["cause"]
    assert await label_rows(services) == []


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"unit": "pio01"}, id="missing-label"),
        pytest.param({"label": "A"}, id="missing-unit"),
        pytest.param({"unit": "", "label": "A"}, id="empty-unit"),
        pytest.param({"unit": "pio01", "label": 5}, id="label-int"),
        pytest.param({"unit": "pio01", "label": None}, id="label-null"),
        pytest.param({"unit": ["pio01"], "label": "A"}, id="unit-list"),
        pytest.param({"unit": "pio01", "label": "x" * 101}, id="label-too-long"),
        pytest.param({"unit": "pio01", "label": "A", "colour": "red"}, id="unknown-key"),
        pytest.param(["pio01", "A"], id="array-body"),
    ],
)
async def test_bad_bodies_are_400(
    client: httpx.AsyncClient, services: Services, cluster: None, payload: Any
) -> None:
    """It should refuse bodies of the wrong shape with 400 and store nothing."""
    response = await client.put("/api/experiments/exp1/unit_labels", json=payload)
    assert_error(response, 400)
    assert await label_rows(services) == []


async def test_invalid_json_is_400(client: httpx.AsyncClient, cluster: None) -> None:
    """It should refuse a body that is not JSON with 400."""
    response = await client.put(
        "/api/experiments/exp1/unit_labels",
        content=b"unit=pio01",
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400)


async def test_labels_go_with_their_experiment(
    client: httpx.AsyncClient, services: Services, cluster: None
) -> None:
    """It should drop an experiment's labels when the experiment is deleted, and only those."""
    await set_label(client, "exp1", "pio01", "A")
    await set_label(client, "exp2", "pio01", "A")
    assert (await client.delete("/api/experiments/exp1")).status_code == 202
    await settle(services)
    rows = await label_rows(services)
    assert [(row["experiment"], row["pioreactor_unit"]) for row in rows] == [("exp2", "pio01")]
