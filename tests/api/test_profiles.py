"""GET /api/experiments/{experiment}/experiment_profiles/recent."""

from __future__ import annotations

import sqlite3

import httpx

from pioleader.services import Services
from tests.conftest import START, create_experiment
from tests.profiles.samples import TIMED


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


PROFILE = TIMED


async def test_examples_ship_and_list_newest_first(client: httpx.AsyncClient) -> None:
    """It should start with the example profiles, parsed with defaults filled in."""
    listed = (await client.get("/api/experiment_profiles")).json()
    files = {item["file"] for item in listed}
    assert {"demo_turbidostat.yaml", "temperature_step.yaml", "stirring_ramp.yaml"} <= files
    step = next(item for item in listed if item["file"] == "temperature_step.yaml")
    assert step["experimentProfile"]["experiment_profile_name"] == "Temperature step"
    assert step["experimentProfile"]["inputs"] == {}
    assert step["fullpath"].endswith("experiment_profiles/temperature_step.yaml")


async def test_profile_crud_round_trip(client: httpx.AsyncClient, services: Services) -> None:
    """It should create, read as text, list, replace and delete a profile."""
    created = await client.post(
        "/api/experiment_profiles", json={"filename": "quick.yaml", "body": PROFILE}
    )
    assert created.status_code == 200, created.text
    assert created.json() == {"status": "success", "diagnostics": []}
    read = await client.get("/api/experiment_profiles/quick.yaml")
    assert read.text == PROFILE and read.headers["content-type"].startswith("text/plain")
    assert (await client.get("/api/experiment_profiles")).json()[0]["file"] == "quick.yaml"

    again = await client.post(
        "/api/experiment_profiles", json={"filename": "quick.yaml", "body": PROFILE}
    )
    assert again.status_code == 400 and "already exists" in again.json()["error"]

    changed = PROFILE.replace("400", "450")
    updated = await client.patch("/api/experiment_profiles/quick.yaml", json={"body": changed})
    assert updated.status_code == 200, updated.text
    assert (await client.get("/api/experiment_profiles/quick.yaml")).text == changed

    assert (await client.delete("/api/experiment_profiles/quick.yaml")).json() == {
        "status": "success"
    }
    assert (await client.get("/api/experiment_profiles/quick.yaml")).status_code == 404
    assert (await client.delete("/api/experiment_profiles/quick.yaml")).status_code == 404


async def test_invalid_profile_is_refused_with_located_causes(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should answer 400 naming the line and path of each problem, and write nothing."""
    bad = PROFILE.replace("stirring:", "stiring:").replace("t: 1h", "t: soon")
    response = await client.post(
        "/api/experiment_profiles", json={"filename": "bad.yaml", "body": bad}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Validation error."
    assert "line 6, common.jobs.stiring: 'stiring' is not a known job" in body["cause"]
    assert "Jobs:" in body["remediation"]
    assert not (services.profile_files.directory / "bad.yaml").exists()

    broken = await client.post(
        "/api/experiment_profiles", json={"filename": "bad.yaml", "body": "a: [1,\n"}
    )
    assert broken.status_code == 400 and "not valid YAML" in broken.json()["cause"]
    patched = await client.patch(
        "/api/experiment_profiles/quick.yaml", json={"body": PROFILE.replace("t: 0", "t: -2")}
    )
    assert patched.status_code == 400
    assert "line 8, common.jobs.stirring.actions[0].t: t is negative" in patched.json()["cause"]
    assert not (services.profile_files.directory / "quick.yaml").exists()


async def test_profile_warnings_are_returned(client: httpx.AsyncClient) -> None:
    """It should accept a profile for an unregistered unit, with a warning that locates it."""
    body = PROFILE + "pioreactors:\n  pio77:\n    jobs: {}\n"
    response = await client.post(
        "/api/experiment_profiles", json={"filename": "warn.yml", "body": body}
    )
    assert response.status_code == 200, response.text
    (warning,) = response.json()["diagnostics"]
    assert warning["code"] == "unknown_unit" and warning["line"] == 12
    assert warning["path"] == "pioreactors.pio77"


async def test_bad_filenames_are_refused(client: httpx.AsyncClient) -> None:
    """It should refuse traversal, hidden files and other suffixes, naming the rule."""
    for name in ("../evil.yaml", "notes.txt", ".hidden.yaml", "-x.yaml", "a  b.yaml", "a/b.yaml"):
        response = await client.post(
            "/api/experiment_profiles", json={"filename": name, "body": PROFILE}
        )
        assert response.status_code == 400, name
        assert name in response.json()["cause"]
    assert (await client.get("/api/experiment_profiles/..yaml")).status_code == 400
    assert (await client.get("/api/experiment_profiles/x.txt")).status_code == 400
    assert (
        await client.patch("/api/experiment_profiles/x.json", json={"body": PROFILE})
    ).status_code == 400


async def test_profile_runs_are_recorded_only_for_known_experiments(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should record a run of an existing experiment and refuse an unknown one."""
    assert not await services.profile_runs.add("p", "nope", START)
    await create_experiment(client, "exp1")
    assert await services.profile_runs.add("p", "exp1", START)
    recent = await client.get("/api/experiments/exp1/experiment_profiles/recent")
    assert recent.json() == [
        {
            "started_at": "2026-01-01T12:00:00.000Z",
            "experiment_profile_name": "p",
            "experiment": "exp1",
        }
    ]
