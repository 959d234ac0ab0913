"""``/api/experiments/{experiment}/chart_preferences``: GET and PATCH, stored in SQLite."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pioleader.services import Services
from tests.conftest import create_experiment

PATH = "/api/experiments/{}/chart_preferences"


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    return body


async def test_defaults_until_set(client: httpx.AsyncClient) -> None:
    """It should answer null lists (the configured defaults) for a new experiment."""
    await create_experiment(client, "exp 1")
    response = await client.get(PATH.format("exp 1"))
    assert response.status_code == 200
    assert response.json() == {"overview_chart_keys": None, "pioreactor_chart_keys": None}


async def test_patch_sets_one_list_and_keeps_the_other(client: httpx.AsyncClient) -> None:
    """It should store the given list in order, leave the omitted one, and answer both."""
    await create_experiment(client, "exp1")
    first = await client.patch(
        PATH.format("exp1"), json={"pioreactor_chart_keys": ["temperature", "growth_rate"]}
    )
    assert first.json() == {
        "overview_chart_keys": None,
        "pioreactor_chart_keys": ["temperature", "growth_rate"],
    }
    second = await client.patch(PATH.format("exp1"), json={"overview_chart_keys": []})
    expected = {"overview_chart_keys": [], "pioreactor_chart_keys": ["temperature", "growth_rate"]}
    assert second.json() == expected
    assert (await client.get(PATH.format("exp1"))).json() == expected
    reset = await client.patch(PATH.format("exp1"), json={"pioreactor_chart_keys": None})
    assert reset.json() == {"overview_chart_keys": [], "pioreactor_chart_keys": None}


async def test_preferences_are_per_experiment(client: httpx.AsyncClient) -> None:
    """It should keep each experiment's selection apart."""
    await create_experiment(client, "a")
    await create_experiment(client, "b")
    await client.patch(PATH.format("a"), json={"overview_chart_keys": ["od"]})
    assert (await client.get(PATH.format("b"))).json()["overview_chart_keys"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "overview_chart_keys"),
        ({"overview_chart_keys": ["od", "od"]}, "more than once"),
        ({"overview_chart_keys": "od"}, "overview_chart_keys"),
        ({"pioreactor_chart_keys": ["no/slash"]}, "pioreactor_chart_keys"),
        ({"charts": ["od"]}, "charts"),
    ],
)
async def test_bad_bodies_refused(
    client: httpx.AsyncClient, services: Services, body: dict[str, Any], field: str
) -> None:
    """It should refuse a body without either list, with duplicates or bad keys, naming the
    field, and change nothing."""
    await create_experiment(client, "exp1")
    await client.patch(PATH.format("exp1"), json={"overview_chart_keys": ["od"]})
    error = assert_error(await client.patch(PATH.format("exp1"), json=body), 400)
    assert field in error["cause"]
    assert (await services.chart_preferences.get("exp1")).overview_chart_keys == ["od"]


async def test_unknown_experiment_404(client: httpx.AsyncClient) -> None:
    """It should answer 404 for an experiment that does not exist, and write nothing."""
    assert_error(await client.get(PATH.format("nope")), 404)
    assert_error(await client.patch(PATH.format("nope"), json={"overview_chart_keys": []}), 404)


async def test_deleted_with_the_experiment(client: httpx.AsyncClient, services: Services) -> None:
    """It should remove an experiment's preferences with it, so a new one of the same name
    starts from the defaults."""
    await create_experiment(client, "exp1")
    await client.patch(PATH.format("exp1"), json={"overview_chart_keys": ["od"]})
    deleted = await client.delete("/api/experiments/exp1")
    assert deleted.status_code in (200, 202), deleted.text
    await services.tasks.wait_idle()
    await create_experiment(client, "exp1")
    assert (await client.get(PATH.format("exp1"))).json()["overview_chart_keys"] is None
