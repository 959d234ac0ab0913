"""``pioleader/api/ui_compat``: the paths of UI builds up to 25.11 answer as the seed's."""

from __future__ import annotations

import httpx
import pytest

from pioleader.api.units.router import ACCESS_POINT_FLAG
from tests.conftest import add_worker, create_experiment

SAME_AS = [
    ("/api/configs/config.ini", "/api/config/shared"),
    ("/api/contrib/charts", "/api/charts/descriptors"),
    ("/api/contrib/jobs", "/api/jobs/descriptors"),
    ("/api/contrib/automations/dosing", "/api/automations/descriptors/dosing"),
    ("/api/contrib/automations/led", "/api/automations/descriptors/led"),
    ("/api/contrib/exportable_datasets", "/api/datasets/exportable"),
    (
        "/api/experiment_profiles/running/experiments/exp1",
        "/api/experiments/exp1/experiment_profiles/running",
    ),
]


@pytest.mark.parametrize(("old", "seed"), SAME_AS)
async def test_old_path_answers_as_the_seed(client: httpx.AsyncClient, old: str, seed: str) -> None:
    """It should answer the old path with the seed path's status, type and body."""
    await create_experiment(client, "exp1")
    answer, expected = await client.get(old), await client.get(seed)
    assert answer.status_code == expected.status_code == 200
    assert answer.headers["content-type"] == expected.headers["content-type"]
    assert answer.content == expected.content
    if "running" not in old:  # nothing runs here; the others have built-in content
        assert answer.content not in (b"", b"[]")


async def test_errors_pass_through(client: httpx.AsyncClient) -> None:
    """It should refuse what the seed path refuses, with the same error."""
    old = await client.get("/api/contrib/automations/nonsense")
    seed = await client.get("/api/automations/descriptors/nonsense")
    assert old.status_code == seed.status_code >= 400
    assert old.json() == seed.json()


async def test_local_access_point_as_text(client: httpx.AsyncClient) -> None:
    """It should answer true or false as text, as GET /api/local_access_point says."""
    response = await client.get("/api/is_local_access_point_active")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == ("true" if ACCESS_POINT_FLAG.exists() else "false")
    assert "max-age" in response.headers["cache-control"]


@pytest.mark.parametrize("prefix", ["/api/workers", "/api/units"])
async def test_unit_configuration(client: httpx.AsyncClient, prefix: str) -> None:
    """It should answer the unit's effective configuration keyed by the unit's name, as the
    seed's /api/config/units/{unit} has it under "configs"."""
    answer = await client.get(f"{prefix}/leader/configuration")
    assert answer.status_code == 200
    seed = (await client.get("/api/config/units/leader")).json()
    assert answer.json() == seed["configs"]
    assert "mqtt" in answer.json()["leader"]
    unknown = await client.get(f"{prefix}/nobody/configuration")
    assert unknown.status_code == 400 and "nobody" in unknown.json()["cause"]


async def test_config_editor_lists_reads_writes_and_keeps_history(
    client: httpx.AsyncClient,
) -> None:
    """It should list config.ini and each unit's file, and read, write (the editor's body,
    which names the file again) and list the history of each as the seed's paths do."""
    await add_worker(client, "pio01")
    assert (await client.get("/api/configs")).json() == [
        "config.ini",
        "config_leader.ini",
        "config_pio01.ini",
    ]
    shared = (await client.get("/api/config/shared")).text
    code = shared + "\n[ui.compat]\nseen=1\n"
    saved = await client.patch("/api/configs/config.ini", json={"code": code, "filename": "x"})
    assert saved.status_code == 200, saved.text
    assert (await client.get("/api/configs/config.ini")).text == code
    history = (await client.get("/api/configs/config.ini/history")).json()
    assert history == (await client.get("/api/config/shared/history")).json()
    assert history[0]["data"] == code

    own = "[stirring.config]\ninitial_target_rpm=250\n"
    body = {"code": own, "filename": "config_leader.ini"}
    assert (await client.patch("/api/configs/config_leader.ini", json=body)).status_code == 200
    assert (await client.get("/api/configs/config_leader.ini")).text == own
    assert (await client.get("/api/config/units/leader/specific")).text == own
    history = (await client.get("/api/configs/config_leader.ini/history")).json()
    assert [version["data"] for version in history] == [own]


@pytest.mark.parametrize("filename", ["nobody.ini", "config_nobody.ini", "config_.ini", "x"])
async def test_config_editor_refuses_unknown_files(
    client: httpx.AsyncClient, filename: str
) -> None:
    """It should answer 404 with the error body for a file that is not the cluster's, and
    write nothing."""
    before = (await client.get("/api/configs/config.ini/history")).json()
    for method, path in [
        ("GET", f"/api/configs/{filename}"),
        ("GET", f"/api/configs/{filename}/history"),
        ("PATCH", f"/api/configs/{filename}"),
    ]:
        response = await client.request(method, path, json={"code": "[a]\nb=1\n"})
        assert response.status_code == 404, (method, path)
        assert filename in response.json()["cause"]
        assert "GET /api/configs" in response.json()["remediation"]
    assert (await client.get("/api/configs/config.ini/history")).json() == before


async def test_config_editor_refuses_bad_text_naming_the_line(client: httpx.AsyncClient) -> None:
    """It should refuse text the seed's path refuses, with the same error, and keep the file."""
    before = (await client.get("/api/configs/config.ini")).text
    bad = {"code": before + "\n[mqtt]\nbroker_port=1\n", "filename": "config.ini"}
    old = await client.patch("/api/configs/config.ini", json=bad)
    seed = await client.patch("/api/config/shared", json={"code": bad["code"]})
    assert old.status_code == seed.status_code == 400
    assert old.json() == seed.json()
    assert (await client.get("/api/configs/config.ini")).text == before
    missing = await client.patch("/api/configs/config.ini", json={"filename": "config.ini"})
    assert missing.status_code == 400 and "code" in missing.json()["cause"]
