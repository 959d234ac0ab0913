"""Cluster-wide reads (``/api/units``, ``/api/models``, ``/api/local_access_point``) and the
leader's own ``/unit_api`` (health, task results)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pioleader.api.units.router import ACCESS_POINT_FLAG
from pioleader.clock import ManualClock
from pioleader.errors import ApiError
from pioleader.services import Services
from pioleader.settings import LeaderSettings
from tests.conftest import add_worker, settle

MODEL_FIELDS = {
    "model_name",
    "model_version",
    "display_name",
    "reactor_capacity_ml",
    "reactor_diameter_mm",
    "reactor_max_fill_volume_ml",
    "max_temp_to_reduce_heating",
    "max_temp_to_disable_heating",
    "max_temp_to_shutdown",
    "is_legacy",
    "is_contrib",
}
BUILT_IN = {
    ("pioreactor_40ml", "1.5"),
    ("pioreactor_40ml", "1.0"),
    ("pioreactor_20ml", "1.5"),
    ("pioreactor_20ml", "1.1"),
    ("pioreactor_20ml", "1.0"),
    ("pioreactor_20ml_XR", "1.5"),
    ("pioreactor_40ml_XR", "1.5"),
}
CONTRIB_YAML = """\
model_name: custom_100ml
model_version: "2.0"
display_name: Custom 100ml, v2.0
reactor_capacity_ml: 100
reactor_diameter_mm: 40
reactor_max_fill_volume_ml: 90
max_temp_to_reduce_heating: 60
max_temp_to_disable_heating: 62
max_temp_to_shutdown: 65
"""


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


async def get_models(client: httpx.AsyncClient) -> dict[tuple[str, str], dict[str, Any]]:
    response = await client.get("/api/models")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"models"}
    models = {(m["model_name"], m["model_version"]): m for m in body["models"]}
    assert len(models) == len(body["models"]), "a (model_name, model_version) appears twice"
    return models


def contrib_dir(settings: LeaderSettings) -> Path:
    directory = settings.data_dir / "models"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# -- GET /api/units ------------------------------------------------------------------------------


async def test_units_is_the_leader_alone_at_first(client: httpx.AsyncClient) -> None:
    """It should list only the leader when no worker is registered."""
    response = await client.get("/api/units")
    assert response.status_code == 200
    assert response.json() == [{"pioreactor_unit": "leader"}]


async def test_units_lists_leader_and_workers_sorted(client: httpx.AsyncClient) -> None:
    """It should list the leader and every worker, sorted by name."""
    for unit in ("zeta", "pio02", "alpha", "pio01"):
        await add_worker(client, unit)
    response = await client.get("/api/units")
    assert response.json() == [
        {"pioreactor_unit": unit} for unit in ("alpha", "leader", "pio01", "pio02", "zeta")
    ]


async def test_units_include_inactive_and_drop_removed(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should keep inactive workers and forget removed ones."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    response = await client.put("/api/workers/pio01/is_active", json={"is_active": 0})
    assert response.status_code == 200
    assert (await client.delete("/api/workers/pio02")).status_code == 202
    await settle(services)
    assert (await client.get("/api/units")).json() == [
        {"pioreactor_unit": "leader"},
        {"pioreactor_unit": "pio01"},
    ]


async def test_units_does_not_repeat_a_worker_named_like_the_leader(
    client: httpx.AsyncClient,
) -> None:
    """It should list the leader once even if it is also registered as a worker."""
    await add_worker(client, "leader")
    assert (await client.get("/api/units")).json() == [{"pioreactor_unit": "leader"}]


# -- GET /api/models -----------------------------------------------------------------------------


async def test_models_lists_the_seven_built_ins(client: httpx.AsyncClient) -> None:
    """It should list the seven built-in models, each with every record field."""
    models = await get_models(client)
    assert set(models) == BUILT_IN
    for model in models.values():
        assert set(model) == MODEL_FIELDS
        assert model["is_contrib"] is False
        assert model["reactor_max_fill_volume_ml"] <= model["reactor_capacity_ml"]
        assert (
            model["max_temp_to_reduce_heating"]
            < model["max_temp_to_disable_heating"]
            < model["max_temp_to_shutdown"]
        )


async def test_models_xr_variants(client: httpx.AsyncClient) -> None:
    """It should include the 20ml and 40ml XR models as current (non-legacy) models."""
    models = await get_models(client)
    xr20 = models[("pioreactor_20ml_XR", "1.5")]
    xr40 = models[("pioreactor_40ml_XR", "1.5")]
    assert (xr20["reactor_capacity_ml"], xr40["reactor_capacity_ml"]) == (20.0, 40.0)
    assert xr20["is_legacy"] is False and xr40["is_legacy"] is False
    assert xr20["display_name"] == "Pioreactor 20ml XR, v1.5"
    assert xr40["display_name"] == "Pioreactor 40ml XR, v1.5"


async def test_models_marks_legacy_versions(client: httpx.AsyncClient) -> None:
    """It should mark the older hardware versions as legacy and the v1.5 ones as current."""
    models = await get_models(client)
    legacy = {key for key, model in models.items() if model["is_legacy"]}
    assert legacy == {
        ("pioreactor_40ml", "1.0"),
        ("pioreactor_20ml", "1.1"),
        ("pioreactor_20ml", "1.0"),
    }


async def test_models_include_contributed_yaml(
    client: httpx.AsyncClient, settings: LeaderSettings
) -> None:
    """It should add a model defined in the data directory's models/ folder, marked contrib."""
    (contrib_dir(settings) / "x.yaml").write_text(CONTRIB_YAML, encoding="utf-8")
    models = await get_models(client)
    assert set(models) == BUILT_IN | {("custom_100ml", "2.0")}
    custom = models[("custom_100ml", "2.0")]
    assert custom == {
        "model_name": "custom_100ml",
        "model_version": "2.0",
        "display_name": "Custom 100ml, v2.0",
        "reactor_capacity_ml": 100.0,
        "reactor_diameter_mm": 40.0,
        "reactor_max_fill_volume_ml": 90.0,
        "max_temp_to_reduce_heating": 60.0,
        "max_temp_to_disable_heating": 62.0,
        "max_temp_to_shutdown": 65.0,
        "is_legacy": False,
        "is_contrib": True,
    }


async def test_contributed_model_overrides_built_in(
    client: httpx.AsyncClient, settings: LeaderSettings
) -> None:
    """It should let a contributed model replace the built-in one of the same name and version."""
    override = CONTRIB_YAML.replace("custom_100ml", "pioreactor_40ml").replace('"2.0"', '"1.5"')
    (contrib_dir(settings) / "override.yml").write_text(override, encoding="utf-8")
    models = await get_models(client)
    assert set(models) == BUILT_IN
    assert models[("pioreactor_40ml", "1.5")]["is_contrib"] is True
    assert models[("pioreactor_40ml", "1.5")]["reactor_capacity_ml"] == 100.0


async def test_invalid_contributed_models_are_skipped(
    client: httpx.AsyncClient, settings: LeaderSettings
) -> None:
    """It should skip contributed files that are not valid model definitions."""
    directory = contrib_dir(settings)
    (directory / "a_broken.yaml").write_text("model_name: [unclosed", encoding="utf-8")
    (directory / "b_incomplete.yaml").write_text("model_name: half\n", encoding="utf-8")
    (directory / "c_list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    (directory / "d_empty.yaml").write_text("", encoding="utf-8")
    (directory / "e_good.yaml").write_text(CONTRIB_YAML, encoding="utf-8")
    (directory / "notes.txt").write_text(CONTRIB_YAML.replace("custom", "txt"), encoding="utf-8")
    models = await get_models(client)
    assert set(models) == BUILT_IN | {("custom_100ml", "2.0")}


async def test_contributed_model_can_be_used_by_a_worker(
    client: httpx.AsyncClient, settings: LeaderSettings
) -> None:
    """It should accept a worker registered with a contributed model."""
    (contrib_dir(settings) / "x.yaml").write_text(CONTRIB_YAML, encoding="utf-8")
    await add_worker(client, "pio01", model_name="custom_100ml", model_version="2.0")
    worker = (await client.get("/api/workers/pio01")).json()
    assert (worker["model_name"], worker["model_version"]) == ("custom_100ml", "2.0")


# -- GET /api/local_access_point -----------------------------------------------------------------


async def test_local_access_point(client: httpx.AsyncClient) -> None:
    """It should report whether the access-point flag file exists."""
    response = await client.get("/api/local_access_point")
    assert response.status_code == 200
    assert response.json() == {"active": ACCESS_POINT_FLAG.exists()}


# -- GET /unit_api/health ------------------------------------------------------------------------


async def test_health(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """It should answer ok with the leader's name and the clock's UTC time."""
    response = await client.get("/unit_api/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "pioreactor_unit": "leader",
        "utc_time": "2026-01-01T12:00:00.000Z",
    }
    clock.advance(timedelta(hours=1, milliseconds=250))
    assert (await client.get("/unit_api/health")).json()["utc_time"] == "2026-01-01T13:00:00.250Z"


# -- GET /unit_api/task_results/{task_id} --------------------------------------------------------


def task_path(task_id: str) -> str:
    return f"/unit_api/task_results/{task_id}"


async def test_unknown_task_is_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 with the error body for a task id it never issued."""
    body = assert_error(await client.get(task_path("no-such-task")), 404)
    assert body["error"] == "Unknown task"
    assert "no-such-task" in body["cause"]


async def test_overlong_task_id_is_400(client: httpx.AsyncClient) -> None:
    """It should refuse a task id longer than 100 characters with 400."""
    assert_error(await client.get(task_path("x" * 101)), 400)


async def test_task_running_then_succeeded(client: httpx.AsyncClient, services: Services) -> None:
    """It should answer 202 running while the task works, then 200 succeeded with the result."""
    started = asyncio.Event()
    gate = asyncio.Event()

    async def work() -> dict[str, Any]:
        started.set()
        await gate.wait()
        return {"answer": 42, "units": ["pio01"]}

    accepted = await services.tasks.submit("demo", work)
    assert accepted.unit == "leader"
    path = accepted.result_url_path
    assert path == task_path(accepted.task_id)

    first = await client.get(path)
    assert first.status_code == 202
    assert first.json()["status"] in ("pending", "running")

    await started.wait()
    running = await client.get(path)
    assert running.status_code == 202
    assert running.json() == {
        "task_id": accepted.task_id,
        "result_url_path": path,
        "status": "running",
    }

    gate.set()
    await settle(services)
    done = await client.get(path)
    assert done.status_code == 200
    assert done.json() == {
        "task_id": accepted.task_id,
        "result_url_path": path,
        "status": "succeeded",
        "result": {"answer": 42, "units": ["pio01"]},
    }
    # Reading a result does not consume it.
    assert (await client.get(path)).json() == done.json()


async def test_task_pending_while_waiting_for_its_lock(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should answer 202 pending for a task queued behind another holding the same lock."""
    started = asyncio.Event()
    gate = asyncio.Event()

    async def holder() -> str:
        started.set()
        await gate.wait()
        return "first"

    async def queued() -> str:
        return "second"

    first = await services.tasks.submit("holder", holder, lock="demo-lock")
    await started.wait()
    second = await services.tasks.submit("queued", queued, lock="demo-lock")

    pending = await client.get(second.result_url_path)
    assert pending.status_code == 202
    assert pending.json() == {
        "task_id": second.task_id,
        "result_url_path": second.result_url_path,
        "status": "pending",
    }
    assert (await client.get(first.result_url_path)).json()["status"] == "running"

    gate.set()
    await settle(services)
    for accepted, result in ((first, "first"), (second, "second")):
        final = await client.get(accepted.result_url_path)
        assert final.status_code == 200
        assert (final.json()["status"], final.json()["result"]) == ("succeeded", result)


async def test_task_failure_is_200_failed(client: httpx.AsyncClient, services: Services) -> None:
    """It should answer 200 failed with error, cause and remediation when the task raises."""

    async def crash() -> None:
        raise ValueError("bad value")

    accepted = await services.tasks.submit("crash", crash)
    await settle(services)
    response = await client.get(accepted.result_url_path)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"task_id", "result_url_path", "status", "error", "cause", "remediation"}
    assert body["status"] == "failed"
    assert body["error"] == "bad value"
    assert "ValueError" in body["cause"]
    assert body["remediation"]


async def test_task_api_error_keeps_its_fields(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should report an ApiError raised by a task with its own error, cause and remediation."""

    async def refuse() -> None:
        raise ApiError(409, "Busy", cause="something else runs", remediation="wait")

    accepted = await services.tasks.submit("refuse", refuse)
    await settle(services)
    response = await client.get(accepted.result_url_path)
    assert response.status_code == 200
    assert response.json() == {
        "task_id": accepted.task_id,
        "result_url_path": accepted.result_url_path,
        "status": "failed",
        "error": "Busy",
        "cause": "something else runs",
        "remediation": "wait",
    }


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
async def test_task_result_expires(
    client: httpx.AsyncClient,
    services: Services,
    settings: LeaderSettings,
    clock: ManualClock,
    outcome: str,
) -> None:
    """It should keep a finished task's result for the TTL, then answer 404."""

    async def work() -> str:
        if outcome == "failed":
            raise RuntimeError("boom")
        return "done"

    accepted = await services.tasks.submit("expiring", work)
    await settle(services)
    ttl = timedelta(seconds=settings.task_result_ttl_seconds)
    assert ttl == timedelta(hours=1)

    clock.advance(ttl - timedelta(seconds=1))
    response = await client.get(accepted.result_url_path)
    assert response.status_code == 200
    assert response.json()["status"] == outcome

    clock.advance(timedelta(seconds=1))
    assert_error(await client.get(accepted.result_url_path), 404)


async def test_running_task_does_not_expire(
    client: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    """It should keep answering 202 for a task still running after the TTL has passed."""
    started = asyncio.Event()
    gate = asyncio.Event()

    async def slow() -> str:
        started.set()
        await gate.wait()
        return "late"

    accepted = await services.tasks.submit("slow", slow)
    await started.wait()
    clock.advance(timedelta(hours=5))
    running = await client.get(accepted.result_url_path)
    assert running.status_code == 202
    assert running.json()["status"] == "running"

    gate.set()
    await settle(services)
    done = await client.get(accepted.result_url_path)
    assert (done.status_code, done.json()["result"]) == (200, "late")


async def test_api_task_is_pollable(client: httpx.AsyncClient, services: Services) -> None:
    """It should serve the result of a task started by an /api endpoint at its result_url_path."""
    created = await client.post("/api/experiments", json={"experiment": "doomed"})
    assert created.status_code == 201
    accepted = await client.delete("/api/experiments/doomed")
    assert accepted.status_code == 202
    await settle(services)
    final = await client.get(accepted.json()["result_url_path"])
    assert final.status_code == 200
    assert final.json()["status"] == "succeeded"
    assert final.json()["result"]["experiment"] == "doomed"
