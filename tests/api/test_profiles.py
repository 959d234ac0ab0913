"""GET /api/experiments/{experiment}/experiment_profiles/recent."""

from __future__ import annotations

import sqlite3

import httpx

from pioleader.services import Services
from tests.conftest import create_experiment


async def test_recent_profile_runs_newest_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should list the experiment's profile runs, newest first, and no other's."""
    await create_experiment(client, "exp1")
    await create_experiment(client, "exp2")

    def write(connection: sqlite3.Connection) -> None:
        connection.executemany(
            "INSERT INTO experiment_profile_runs (started_at, experiment_profile_name,"
            " experiment) VALUES (?, ?, ?)",
            [
                ("2026-01-01T10:00:00.000Z", "first", "exp1"),
                ("2026-01-01T11:00:00.000Z", "second", "exp1"),
                ("2026-01-01T10:30:00.000Z", "elsewhere", "exp2"),
            ],
        )

    await services.db.write(write)
    response = await client.get("/api/experiments/exp1/experiment_profiles/recent")
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "started_at": "2026-01-01T11:00:00.000Z",
            "experiment_profile_name": "second",
            "experiment": "exp1",
        },
        {
            "started_at": "2026-01-01T10:00:00.000Z",
            "experiment_profile_name": "first",
            "experiment": "exp1",
        },
    ]
    empty = await client.get("/api/experiments/nope/experiment_profiles/recent")
    assert empty.json() == []
