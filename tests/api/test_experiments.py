"""``/api/experiments`` and ``/api/historical_*``: bodies, validation, side effects."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.services import Services
from tests.conftest import LEADER_PORT, UNIT_PORTS, add_worker, create_experiment, poll_task, settle
from tests.fakes import FakeUnits

CREATED_AT = "2026-01-01T12:00:00.000Z"
AUDIT_TOPIC = "pioreactor/leader/$experiment/logs/ui/info"


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


async def count_rows(services: Services, table: str, experiment: str | None = None) -> int:
    def count(connection: sqlite3.Connection) -> int:
        if experiment is None:
            row = connection.execute(f"SELECT COUNT(*) AS n FROM {table}").fetchone()
        else:
            row = connection.execute(
                f"SELECT COUNT(*) AS n FROM {table} WHERE experiment = ?", (experiment,)
            ).fetchone()
        return int(row["n"])

    return await services.db.read(count)


async def assign(client: httpx.AsyncClient, experiment: str, unit: str) -> None:
    response = await client.put(
        f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
    )
    assert response.status_code == 200, response.text


async def deactivate(client: httpx.AsyncClient, unit: str) -> None:
    response = await client.put(f"/api/workers/{unit}/is_active", json={"is_active": 0})
    assert response.status_code == 200, response.text


# -- POST /api/experiments ---------------------------------------------------------------------


async def test_create_returns_the_experiment(client: httpx.AsyncClient) -> None:
    """It should answer 201 with the new experiment, stamped with the clock's time."""
    response = await client.post(
        "/api/experiments",
        json={"experiment": "Trial 1", "description": "first run", "tags": ["ecoli"]},
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "experiment": "Trial 1",
        "created_at": CREATED_AT,
        "description": "first run",
        "delta_hours": 0.0,
        "worker_count": 0,
        "tags": ["ecoli"],
    }


async def test_create_minimal_body(client: httpx.AsyncClient) -> None:
    """It should default the description to null and the tags to an empty list."""
    body = await create_experiment(client, "bare")
    assert body == {
        "experiment": "bare",
        "created_at": CREATED_AT,
        "description": None,
        "delta_hours": 0.0,
        "worker_count": 0,
        "tags": [],
    }


async def test_create_is_readable_afterwards(client: httpx.AsyncClient) -> None:
    """It should store the experiment so that GET returns what POST answered."""
    created = await create_experiment(client, "stored", description="d", tags=["a", "b"])
    fetched = await client.get("/api/experiments/stored")
    assert fetched.status_code == 200
    assert fetched.json() == created
    listed = await client.get("/api/experiments")
    assert listed.json() == [created]


async def test_create_accepts_unusual_but_allowed_names(client: httpx.AsyncClient) -> None:
    """It should accept spaces, punctuation, non-ASCII letters and a 199-character name."""
    for name in ("exp-1_a.b (test) & co", "Expérience ünïcode", "x" * 199, "currently"):
        body = await create_experiment(client, name)
        assert body["experiment"] == name
    assert len((await client.get("/api/experiments")).json()) == 4


async def test_create_normalises_tags(client: httpx.AsyncClient, services: Services) -> None:
    """It should trim tags, drop empty ones and de-duplicate case-insensitively, first wins."""
    body = await create_experiment(
        client, "tagged", tags=["  Ecoli ", "", "   ", "ecoli", "ECOLI", "glucose", "Glucose "]
    )
    assert body["tags"] == ["Ecoli", "glucose"]
    rows = await services.db.read(
        lambda c: c.execute(
            "SELECT tag, created_at FROM experiment_tags WHERE experiment = ? ORDER BY rowid",
            ("tagged",),
        ).fetchall()
    )
    assert rows == [
        {"tag": "Ecoli", "created_at": CREATED_AT},
        {"tag": "glucose", "created_at": CREATED_AT},
    ]


async def test_create_keeps_tag_order(client: httpx.AsyncClient) -> None:
    """It should keep tags in the order they were given, not sorted."""
    body = await create_experiment(client, "ordered", tags=["zeta", "alpha", "mu"])
    assert body["tags"] == ["zeta", "alpha", "mu"]
    assert (await client.get("/api/experiments/ordered")).json()["tags"] == ["zeta", "alpha", "mu"]


async def test_create_ignores_read_only_keys(client: httpx.AsyncClient) -> None:
    """It should ignore the created_at, delta_hours and worker_count a client sends back."""
    body = await create_experiment(
        client,
        "echoed",
        created_at="1999-01-01T00:00:00.000Z",
        delta_hours=500.0,
        worker_count=7,
    )
    assert body["created_at"] == CREATED_AT
    assert body["delta_hours"] == 0.0
    assert body["worker_count"] == 0


async def test_create_stores_media_and_organism(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should store mediaUsed and organismUsed in the experiment's row."""
    await create_experiment(client, "cultured", mediaUsed="LB", organismUsed="E. coli")
    rows = await services.db.read(
        lambda c: c.execute(
            "SELECT media_used, organism_used FROM experiments WHERE experiment = 'cultured'"
        ).fetchall()
    )
    assert rows == [{"media_used": "LB", "organism_used": "E. coli"}]


async def test_create_logs_to_the_event_log(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should publish a 'New experiment created' log line from the leader."""
    await create_experiment(client, "logged")
    await settle(services)
    messages = [message.json() for message in bus.on(AUDIT_TOPIC)]
    assert [m["message"] for m in messages] == ["New experiment created: logged"]
    assert messages[0]["level"] == "INFO"
    assert messages[0]["timestamp"] == CREATED_AT


async def test_create_duplicate_is_409(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should refuse a second experiment of the same name with 409 and change nothing."""
    original = await create_experiment(client, "dup", description="original", tags=["keep"])
    await settle(services)
    logged_before = len(bus.on(AUDIT_TOPIC))
    response = await client.post(
        "/api/experiments", json={"experiment": "dup", "description": "new", "tags": ["other"]}
    )
    body = assert_error(response, 409)
    assert body["error"] == "Experiment already exists"
    assert "dup" in body["cause"]
    assert (await client.get("/api/experiments/dup")).json() == original
    assert await count_rows(services, "experiment_tags") == 1
    await settle(services)
    assert len(bus.on(AUDIT_TOPIC)) == logged_before


BAD_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("\t", id="tab-only"),
    pytest.param("x" * 200, id="200-chars"),
    pytest.param("x" * 500, id="500-chars"),
    pytest.param("current", id="current"),
    pytest.param("CURRENT", id="CURRENT"),
    pytest.param("Current", id="Current"),
    pytest.param("latest", id="route-word-latest"),
    pytest.param("active", id="route-word-active"),
    pytest.param("assignment_count", id="route-word-assignment_count"),
    pytest.param("_testing_x", id="_testing-prefix"),
    pytest.param("_testing", id="_testing"),
    pytest.param("exp#1", id="hash"),
    pytest.param("exp$1", id="dollar"),
    pytest.param("$experiment", id="universal-experiment"),
    pytest.param("exp%1", id="percent"),
    pytest.param("exp+1", id="plus"),
    pytest.param("exp/1", id="slash"),
    pytest.param("exp\\1", id="backslash"),
    pytest.param("exp\x01", id="control-char"),
    pytest.param("exp\nline", id="newline"),
    pytest.param("exp\x00", id="nul"),
    pytest.param("exp\x7f", id="del"),
    pytest.param("exp\x85", id="c1-next-line"),
    pytest.param("exp\x9b", id="c1-csi"),
]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_create_rejects_bad_names(
    client: httpx.AsyncClient, services: Services, name: str
) -> None:
    """It should refuse each bad experiment name with 400 naming the field, and write nothing."""
    response = await client.post(
        "/api/experiments", json={"experiment": name, "tags": ["t"], "mediaUsed": "LB"}
    )
    body = assert_error(response, 400)
    assert "experiment" in body["cause"]
    assert (await client.get("/api/experiments")).json() == []
    assert await count_rows(services, "experiments") == 0
    assert await count_rows(services, "experiment_tags") == 0


BAD_BODIES = [
    pytest.param({"experiment": "e", "tags": "a,b"}, "tags", id="tags-string"),
    pytest.param({"experiment": "e", "tags": {"a": 1}}, "tags", id="tags-object"),
    pytest.param({"experiment": "e", "tags": ["ok", 3]}, "tags", id="tag-int"),
    pytest.param({"experiment": "e", "tags": ["ok", None]}, "tags", id="tag-null"),
    pytest.param({"experiment": "e", "tags": [["nested"]]}, "tags", id="tag-list"),
    pytest.param({"experiment": 42}, "experiment", id="experiment-int"),
    pytest.param({"experiment": None}, "experiment", id="experiment-null"),
    pytest.param({"experiment": ["e"]}, "experiment", id="experiment-list"),
    pytest.param({"description": "no name"}, "experiment", id="experiment-missing"),
    pytest.param({"experiment": "e", "description": 5}, "description", id="description-int"),
    pytest.param({"experiment": "e", "mediaUsed": 1}, "mediaUsed", id="media-int"),
    pytest.param({"experiment": "e", "colour": "red"}, "colour", id="unknown-key"),
    pytest.param({"experiment": "e", "tags": ["x" * 201]}, "tags", id="tag-too-long"),
    pytest.param(["e"], "body", id="array-body"),
    pytest.param("e", "body", id="string-body"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_BODIES)
async def test_create_rejects_wrong_types_with_400(
    client: httpx.AsyncClient, services: Services, payload: Any, field: str
) -> None:
    """It should refuse a body of the wrong shape with 400 (never 422) and write nothing."""
    response = await client.post("/api/experiments", json=payload)
    body = assert_error(response, 400)
    assert field in body["cause"]
    assert (await client.get("/api/experiments")).json() == []
    assert await count_rows(services, "experiment_tags") == 0


async def test_create_rejects_too_many_tags(client: httpx.AsyncClient, services: Services) -> None:
    """It should refuse more than 100 tags with 400 and write nothing."""
    response = await client.post(
        "/api/experiments", json={"experiment": "e", "tags": [f"t{i}" for i in range(101)]}
    )
    assert "tags" in assert_error(response, 400)["cause"]
    assert await count_rows(services, "experiments") == 0
    assert await count_rows(services, "experiment_tags") == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"experiment": "e",', id="truncated"),
        pytest.param(b"not json", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
async def test_create_rejects_invalid_json(
    client: httpx.AsyncClient, services: Services, content: bytes
) -> None:
    """It should refuse a body that is not valid JSON with 400 and write nothing."""
    response = await client.post(
        "/api/experiments", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)
    assert (await client.get("/api/experiments")).json() == []


async def test_create_rejection_publishes_nothing(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should not publish a log line for a refused create."""
    response = await client.post("/api/experiments", json={"experiment": "bad/name"})
    assert_error(response, 400)
    await settle(services)
    assert bus.messages == []


# -- delta_hours ---------------------------------------------------------------------------------


async def test_delta_hours_grows_with_the_clock(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """It should report whole hours since creation, rounded down, as a float."""
    await create_experiment(client, "aging")
    clock.advance(timedelta(minutes=59, seconds=59))
    assert (await client.get("/api/experiments/aging")).json()["delta_hours"] == 0.0
    clock.advance(timedelta(seconds=1))
    assert (await client.get("/api/experiments/aging")).json()["delta_hours"] == 1.0
    clock.advance(timedelta(hours=70, minutes=30))
    body = (await client.get("/api/experiments/aging")).json()
    assert body["delta_hours"] == 71.0
    assert isinstance(body["delta_hours"], float)
    assert body["created_at"] == CREATED_AT


async def test_delta_hours_in_every_listing(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """It should compute delta_hours the same way in the list and in latest."""
    await create_experiment(client, "aging")
    clock.advance(timedelta(hours=71, minutes=30))
    assert (await client.get("/api/experiments")).json()[0]["delta_hours"] == 71.0
    assert (await client.get("/api/experiments/latest")).json()["delta_hours"] == 71.0


# -- GET list, one, latest -------------------------------------------------------------------------


async def test_list_is_empty_at_first(client: httpx.AsyncClient) -> None:
    """It should list no experiments on a fresh leader."""
    response = await client.get("/api/experiments")
    assert response.status_code == 200
    assert response.json() == []


async def test_list_newest_first(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """It should list experiments by created_at, newest first."""
    await create_experiment(client, "first")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "second")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "third")
    listed = (await client.get("/api/experiments")).json()
    assert [e["experiment"] for e in listed] == ["third", "second", "first"]
    assert [e["created_at"] for e in listed] == [
        "2026-01-01T14:00:00.000Z",
        "2026-01-01T13:00:00.000Z",
        CREATED_AT,
    ]
    assert [e["delta_hours"] for e in listed] == [0.0, 1.0, 2.0]


async def test_get_unknown_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 with the error body for an unknown experiment."""
    await create_experiment(client, "known")
    body = assert_error(await client.get("/api/experiments/unknown"), 404)
    assert body["error"] == "Experiment not found"
    assert "unknown" in body["cause"]


async def test_get_is_exact_match(client: httpx.AsyncClient) -> None:
    """It should not find an experiment by a differently-cased name."""
    await create_experiment(client, "CaseSensitive")
    assert_error(await client.get("/api/experiments/casesensitive"), 404)


async def test_latest_is_null_without_experiments(client: httpx.AsyncClient) -> None:
    """It should answer JSON null when there is no experiment."""
    response = await client.get("/api/experiments/latest")
    assert response.status_code == 200
    assert response.content == b"null"


async def test_latest_is_last_inserted(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """It should answer the experiment inserted last, even if another has a later created_at."""
    clock.advance(timedelta(hours=5))
    await create_experiment(client, "later-stamp")
    clock.advance(timedelta(hours=-5))
    inserted_last = await create_experiment(client, "inserted-last", tags=["x"])
    response = await client.get("/api/experiments/latest")
    assert response.status_code == 200
    assert response.json() == inserted_last
    listed = (await client.get("/api/experiments")).json()
    assert [e["experiment"] for e in listed] == ["later-stamp", "inserted-last"]


async def test_latest_follows_deletion(client: httpx.AsyncClient, services: Services) -> None:
    """It should fall back to the previous experiment once the latest is deleted."""
    await create_experiment(client, "older")
    await create_experiment(client, "newer")
    await poll_task(client, services, await client.delete("/api/experiments/newer"))
    assert (await client.get("/api/experiments/latest")).json()["experiment"] == "older"


# -- active and assignment_count -------------------------------------------------------------------


async def test_active_and_counts_are_empty_without_assignments(
    client: httpx.AsyncClient,
) -> None:
    """It should list no active experiments and no counts when no worker is assigned."""
    await create_experiment(client, "lonely")
    await add_worker(client, "pio01")
    assert (await client.get("/api/experiments/active")).json() == []
    assert (await client.get("/api/experiments/assignment_count")).json() == []


async def test_active_and_counts_follow_assignments(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """It should count assigned workers, and call active only experiments with an active one."""
    await create_experiment(client, "alpha")
    clock.advance(timedelta(minutes=1))
    await create_experiment(client, "beta")
    clock.advance(timedelta(minutes=1))
    await create_experiment(client, "gamma")
    clock.advance(timedelta(minutes=1))
    await create_experiment(client, "delta")
    for unit in UNIT_PORTS:
        await add_worker(client, unit)
    await assign(client, "alpha", "pio01")
    await assign(client, "alpha", "pio02")
    await assign(client, "beta", "pio03")
    await deactivate(client, "pio03")

    active = (await client.get("/api/experiments/active")).json()
    assert [e["experiment"] for e in active] == ["alpha"]
    assert active[0]["worker_count"] == 2

    counts = (await client.get("/api/experiments/assignment_count")).json()
    assert counts == [
        {"experiment": "alpha", "worker_count": 2},
        {"experiment": "beta", "worker_count": 1},
    ]
    listed = {
        e["experiment"]: e["worker_count"] for e in (await client.get("/api/experiments")).json()
    }
    assert listed == {"alpha": 2, "beta": 1, "gamma": 0, "delta": 0}


async def test_active_lists_newest_first(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """It should list active experiments newest first."""
    await create_experiment(client, "old")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "new")
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    await assign(client, "old", "pio01")
    await assign(client, "new", "pio02")
    active = (await client.get("/api/experiments/active")).json()
    assert [e["experiment"] for e in active] == ["new", "old"]


async def test_active_after_reactivation_and_move(client: httpx.AsyncClient) -> None:
    """It should follow a worker that is reactivated or moved to another experiment."""
    await create_experiment(client, "a")
    await create_experiment(client, "b")
    await add_worker(client, "pio01")
    await assign(client, "a", "pio01")
    await deactivate(client, "pio01")
    assert (await client.get("/api/experiments/active")).json() == []
    response = await client.put("/api/workers/pio01/is_active", json={"is_active": 1})
    assert response.status_code == 200
    assert [e["experiment"] for e in (await client.get("/api/experiments/active")).json()] == ["a"]
    await assign(client, "b", "pio01")
    assert [e["experiment"] for e in (await client.get("/api/experiments/active")).json()] == ["b"]
    assert (await client.get("/api/experiments/assignment_count")).json() == [
        {"experiment": "b", "worker_count": 1}
    ]


async def test_counts_drop_when_worker_removed(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should stop counting a worker once it is removed from the inventory."""
    await create_experiment(client, "exp")
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    await assign(client, "exp", "pio01")
    await assign(client, "exp", "pio02")
    assert (await client.delete("/api/workers/pio01")).status_code == 202
    await settle(services)
    assert (await client.get("/api/experiments/assignment_count")).json() == [
        {"experiment": "exp", "worker_count": 1}
    ]
    assert (await client.get("/api/experiments/exp")).json()["worker_count"] == 1


# -- PATCH --------------------------------------------------------------------------------------


async def test_patch_description_only(client: httpx.AsyncClient) -> None:
    """It should change the description and keep the tags."""
    await create_experiment(client, "exp", description="old", tags=["a", "b"])
    response = await client.patch("/api/experiments/exp", json={"description": "new"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "experiment": "exp",
        "created_at": CREATED_AT,
        "description": "new",
        "delta_hours": 0.0,
        "worker_count": 0,
        "tags": ["a", "b"],
    }
    assert (await client.get("/api/experiments/exp")).json() == response.json()


async def test_patch_tags_only_replaces_the_set(
    client: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    """It should replace the whole tag set (normalised) and keep the description."""
    await create_experiment(client, "exp", description="keep", tags=["a", "b"])
    clock.advance(timedelta(hours=2))
    response = await client.patch("/api/experiments/exp", json={"tags": [" c ", "C", "", "a"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == ["c", "a"]
    assert body["description"] == "keep"
    assert body["delta_hours"] == 2.0
    rows = await services.db.read(
        lambda c: c.execute(
            "SELECT tag, created_at FROM experiment_tags WHERE experiment = 'exp' ORDER BY rowid"
        ).fetchall()
    )
    assert rows == [
        {"tag": "c", "created_at": "2026-01-01T14:00:00.000Z"},
        {"tag": "a", "created_at": "2026-01-01T14:00:00.000Z"},
    ]


async def test_patch_empty_tags_clears_them(client: httpx.AsyncClient, services: Services) -> None:
    """It should remove every tag when given an empty list."""
    await create_experiment(client, "exp", tags=["a", "b"])
    response = await client.patch("/api/experiments/exp", json={"tags": []})
    assert response.status_code == 200
    assert response.json()["tags"] == []
    assert await count_rows(services, "experiment_tags", "exp") == 0


async def test_patch_both(client: httpx.AsyncClient) -> None:
    """It should change the description and the tags together."""
    await create_experiment(client, "exp", description="old", tags=["a"])
    response = await client.patch("/api/experiments/exp", json={"description": "", "tags": ["z"]})
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["tags"]) == ("", ["z"])


async def test_patch_touches_only_that_experiment(client: httpx.AsyncClient) -> None:
    """It should leave other experiments' description and tags alone."""
    other = await create_experiment(client, "other", description="o", tags=["a"])
    await create_experiment(client, "exp", description="e", tags=["a"])
    await client.patch("/api/experiments/exp", json={"description": "x", "tags": ["b"]})
    assert (await client.get("/api/experiments/other")).json() == other


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"description": None}, id="null-description"),
        pytest.param({"description": None, "tags": None}, id="both-null"),
    ],
)
async def test_patch_without_changes_is_400(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    """It should refuse a PATCH that changes neither description nor tags."""
    original = await create_experiment(client, "exp", description="d", tags=["t"])
    assert_error(await client.patch("/api/experiments/exp", json=payload), 400)
    assert (await client.get("/api/experiments/exp")).json() == original


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"tags": "a"}, id="tags-string"),
        pytest.param({"tags": [1]}, id="tag-int"),
        pytest.param({"description": 3}, id="description-int"),
        pytest.param({"description": "d", "experiment": "renamed"}, id="rename"),
        pytest.param({"description": "d", "colour": "red"}, id="unknown-key"),
    ],
)
async def test_patch_rejects_wrong_shapes(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    """It should refuse wrong types and unknown keys with 400 and change nothing."""
    original = await create_experiment(client, "exp", description="d", tags=["t"])
    assert_error(await client.patch("/api/experiments/exp", json=payload), 400)
    assert (await client.get("/api/experiments/exp")).json() == original


async def test_patch_invalid_json_is_400(client: httpx.AsyncClient) -> None:
    """It should refuse a PATCH body that is not JSON with 400."""
    await create_experiment(client, "exp")
    response = await client.patch(
        "/api/experiments/exp", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)


async def test_patch_unknown_is_404(client: httpx.AsyncClient, services: Services) -> None:
    """It should answer 404 for an unknown experiment and write no tags."""
    body = assert_error(await client.patch("/api/experiments/ghost", json={"tags": ["a"]}), 404)
    assert "ghost" in body["cause"]
    assert await count_rows(services, "experiment_tags") == 0


# -- DELETE -------------------------------------------------------------------------------------


async def populate(client: httpx.AsyncClient, services: Services, experiment: str) -> None:
    """Give the experiment tags, two assigned workers, labels, readings and logs."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    await assign(client, experiment, "pio01")
    await assign(client, experiment, "pio02")
    for unit, label in (("pio01", "P1"), ("pio02", "P2")):
        response = await client.put(
            f"/api/experiments/{experiment}/unit_labels", json={"unit": unit, "label": label}
        )
        assert response.status_code == 201, response.text

    def insert(connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT INTO od_readings"
            " (experiment, pioreactor_unit, timestamp, od_reading, angle, channel)"
            " VALUES (?, 'pio01', ?, 0.5, 90, 2)",
            (experiment, CREATED_AT),
        )
        connection.execute(
            "INSERT INTO logs (experiment, pioreactor_unit, timestamp, message, source, level)"
            " VALUES (?, 'pio01', ?, 'hello', 'app', 'INFO')",
            (experiment, CREATED_AT),
        )

    await services.db.write(insert)


async def test_delete_answers_a_task(client: httpx.AsyncClient, services: Services) -> None:
    """It should answer 202 with the task body pointing at the leader's task results."""
    await create_experiment(client, "doomed")
    response = await client.delete("/api/experiments/doomed")
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"unit", "task_id", "result_url_path", "status"}
    assert body["unit"] == "leader"
    assert body["status"] == "accepted"
    assert body["result_url_path"] == f"/unit_api/task_results/{body['task_id']}"
    await settle(services)


async def test_delete_task_result(client: httpx.AsyncClient, services: Services) -> None:
    """It should finish with result true, the experiment, the database space and a message."""
    await create_experiment(client, "doomed")
    accepted = await client.delete("/api/experiments/doomed")
    final = await poll_task(client, services, accepted)
    assert final["status"] == "succeeded"
    assert final["task_id"] == accepted.json()["task_id"]
    result = final["result"]
    assert set(result) == {"result", "experiment", "database_space", "msg"}
    assert result["result"] is True
    assert result["experiment"] == "doomed"
    assert result["msg"] == "Deleted experiment"
    space = result["database_space"]
    assert set(space) == {
        "page_size",
        "page_count",
        "freelist_count",
        "allocated_bytes",
        "reclaimable_bytes",
        "reclaimable_fraction",
    }
    assert space["page_size"] > 0 and space["page_count"] > 0
    assert space["allocated_bytes"] == space["page_size"] * space["page_count"]
    assert space["reclaimable_bytes"] == space["page_size"] * space["freelist_count"]
    assert 0.0 <= space["reclaimable_fraction"] <= 1.0


async def test_delete_removes_everything_of_the_experiment(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should delete the experiment with its tags, assignments, labels, data and logs."""
    await create_experiment(client, "doomed", tags=["a", "b"], mediaUsed="LB")
    await populate(client, services, "doomed")
    kept = await create_experiment(client, "kept", tags=["a"])
    await add_worker(client, "pio03")
    await assign(client, "kept", "pio03")
    response = await client.put(
        "/api/experiments/kept/unit_labels", json={"unit": "pio03", "label": "P1"}
    )
    assert response.status_code == 201

    await poll_task(client, services, await client.delete("/api/experiments/doomed"))

    assert_error(await client.get("/api/experiments/doomed"), 404)
    assert [e["experiment"] for e in (await client.get("/api/experiments")).json()] == ["kept"]
    for table in (
        "experiments",
        "experiment_tags",
        "experiment_worker_assignments",
        "pioreactor_unit_labels",
        "od_readings",
        "pioreactor_unit_activity_data",
        "logs",
    ):
        assert await count_rows(services, table, "doomed") == 0, table
    assert (await client.get("/api/historical_media")).json() == []
    # The workers stay in the inventory, now unassigned; the other experiment is untouched.
    workers = (await client.get("/api/workers/assignments")).json()
    assert {w["pioreactor_unit"]: w["experiment"] for w in workers} == {
        "pio01": None,
        "pio02": None,
        "pio03": "kept",
    }
    assert (await client.get("/api/experiments/kept")).json() == {**kept, "worker_count": 1}
    assert (await client.get("/api/experiments/kept/unit_labels")).json() == {"pio03": "P1"}
    # Assignment history outlives the experiment, closed.
    history = await services.db.read(
        lambda c: c.execute(
            "SELECT pioreactor_unit, unassigned_at FROM experiment_worker_assignments_history"
            " WHERE experiment = 'doomed' ORDER BY pioreactor_unit"
        ).fetchall()
    )
    assert [row["pioreactor_unit"] for row in history] == ["pio01", "pio02"]
    assert all(row["unassigned_at"] is not None for row in history)


async def test_delete_stops_jobs_on_every_unit(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should ask the leader and every registered worker to stop the experiment's jobs."""
    await create_experiment(client, "doomed")
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    await poll_task(client, services, await client.delete("/api/experiments/doomed"))
    stops = [sent for sent in units.sent if sent.path == "/unit_api/jobs/stop"]
    assert sorted(sent.port for sent in stops) == sorted(
        [LEADER_PORT, UNIT_PORTS["pio01"], UNIT_PORTS["pio02"]]
    )
    for sent in stops:
        assert sent.method == "POST"
        assert sent.host == "127.0.0.1"
        assert sent.body == {"experiment": "doomed"}
    assert units.to(UNIT_PORTS["pio03"]) == []


async def test_delete_without_workers_stops_jobs_on_the_leader(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should still ask the leader to stop the experiment's jobs when there is no worker."""
    await create_experiment(client, "doomed")
    await poll_task(client, services, await client.delete("/api/experiments/doomed"))
    assert [(s.port, s.method, s.path, s.body) for s in units.sent] == [
        (LEADER_PORT, "POST", "/unit_api/jobs/stop", {"experiment": "doomed"})
    ]


async def test_delete_succeeds_when_units_are_down(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should delete the experiment even if no unit answers the stop request."""
    await create_experiment(client, "doomed")
    await add_worker(client, "pio01")
    units.down.update({LEADER_PORT, UNIT_PORTS["pio01"]})
    final = await poll_task(client, services, await client.delete("/api/experiments/doomed"))
    assert final["status"] == "succeeded"
    assert_error(await client.get("/api/experiments/doomed"), 404)
    assert {sent.port for sent in units.sent} == {LEADER_PORT, UNIT_PORTS["pio01"]}


async def test_delete_publishes_unassignment_of_its_workers(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus, clock: ManualClock
) -> None:
    """It should publish a retained null assignment for every worker that was in it."""
    await create_experiment(client, "doomed")
    await create_experiment(client, "kept")
    for unit in UNIT_PORTS:
        await add_worker(client, unit)
    await assign(client, "doomed", "pio01")
    await assign(client, "doomed", "pio02")
    await assign(client, "kept", "pio03")
    clock.advance(timedelta(hours=1))
    published_before = len(bus.messages)

    await poll_task(client, services, await client.delete("/api/experiments/doomed"))

    retained = {topic: json.loads(payload) for topic, payload in bus.retained().items()}
    for unit in ("pio01", "pio02"):
        assert retained[f"pioreactor/{unit}/$experiment/assignment"] == {
            "pioreactor_unit": unit,
            "experiment": None,
            "assigned_at": None,
            "updated_at": "2026-01-01T13:00:00.000Z",
        }
    assert retained["pioreactor/pio03/$experiment/assignment"]["experiment"] == "kept"
    new_topics = {m.topic for m in bus.messages[published_before:] if m.retain}
    assert new_topics == {
        "pioreactor/pio01/$experiment/assignment",
        "pioreactor/pio02/$experiment/assignment",
    }


async def test_delete_logs_to_the_event_log(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should publish a 'Deleted experiment' log line once the task is done."""
    await create_experiment(client, "doomed")
    await poll_task(client, services, await client.delete("/api/experiments/doomed"))
    await settle(services)
    assert [m.json()["message"] for m in bus.on(AUDIT_TOPIC)] == [
        "New experiment created: doomed",
        "Deleted experiment doomed",
    ]


async def test_delete_unknown_is_404(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 404 for an unknown experiment and contact no unit."""
    await create_experiment(client, "kept")
    await add_worker(client, "pio01")
    body = assert_error(await client.delete("/api/experiments/ghost"), 404)
    assert "ghost" in body["cause"]
    await settle(services)
    assert [s for s in units.sent if s.path == "/unit_api/jobs/stop"] == []
    assert len((await client.get("/api/experiments")).json()) == 1


async def test_delete_twice_is_404_the_second_time(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should answer 404 to a second DELETE of an experiment already deleted."""
    await create_experiment(client, "doomed")
    await poll_task(client, services, await client.delete("/api/experiments/doomed"))
    assert_error(await client.delete("/api/experiments/doomed"), 404)


async def test_name_is_reusable_after_delete(
    client: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    """It should allow a new experiment with a deleted experiment's name, without old tags."""
    await create_experiment(client, "again", tags=["old"])
    await poll_task(client, services, await client.delete("/api/experiments/again"))
    clock.advance(timedelta(hours=1))
    body = await create_experiment(client, "again")
    assert body["tags"] == []
    assert body["created_at"] == "2026-01-01T13:00:00.000Z"


# -- historical media and organisms -------------------------------------------------------------


async def test_historical_empty(client: httpx.AsyncClient) -> None:
    """It should list no media and no organisms on a fresh leader."""
    assert (await client.get("/api/historical_media")).json() == []
    assert (await client.get("/api/historical_organisms")).json() == []


async def test_historical_newest_first_distinct(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """It should list distinct non-empty values as {key}, most recently used first."""
    await create_experiment(client, "e1", mediaUsed="LB", organismUsed="E. coli")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "e2", mediaUsed="M9", organismUsed="Yeast")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "e3", mediaUsed="LB")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "e4", mediaUsed="", organismUsed="   ")
    clock.advance(timedelta(hours=1))
    await create_experiment(client, "e5")

    media = await client.get("/api/historical_media")
    assert media.status_code == 200
    assert media.json() == [{"key": "LB"}, {"key": "M9"}]
    organisms = await client.get("/api/historical_organisms")
    assert organisms.status_code == 200
    assert organisms.json() == [{"key": "Yeast"}, {"key": "E. coli"}]


async def test_historical_forgets_deleted_experiments(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should no longer list a medium used only by a deleted experiment."""
    await create_experiment(client, "gone", mediaUsed="LB", organismUsed="E. coli")
    await create_experiment(client, "kept", mediaUsed="M9")
    await poll_task(client, services, await client.delete("/api/experiments/gone"))
    assert (await client.get("/api/historical_media")).json() == [{"key": "M9"}]
    assert (await client.get("/api/historical_organisms")).json() == []
