"""The unit's configuration endpoints on a worker in-process (real broker): the shared file
the leader pushes, the unit's own file, the merged view, and jobs reading what was written."""

from __future__ import annotations

import httpx

from pioleader.configuration.secrets import MASK
from pioleader.unit.services import UnitServices
from tests.unit.conftest import finished, run_body


async def test_pushed_shared_config_drives_the_next_stirring_job(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should take a new shared config.ini, show it merged, and start stirring at the new
    [stirring.config] initial_target_rpm."""
    files = unit.config_files
    code = files.shared_path.read_text().replace("initial_target_rpm=500", "initial_target_rpm=321")
    response = await unit_client.patch("/unit_api/config/shared", json={"code": code})
    assert response.json() == {"status": "success"}, response.text
    merged = (await unit_client.get("/unit_api/config/merged")).json()
    assert merged["stirring.config"]["initial_target_rpm"] == "321"

    done = await finished(
        unit_client,
        unit,
        await unit_client.post("/unit_api/jobs/run/job_name/stirring", json=run_body()),
    )
    assert done["status"] == "succeeded", done
    settings = (await unit_client.get("/unit_api/jobs/settings/job_name/stirring")).json()
    assert settings["settings"]["target_rpm"] == "321.0"
    await unit.jobs.stop()


async def test_bad_shared_config_is_refused_by_the_worker(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should refuse text without the required sections and keep its file."""
    before = unit.config_files.shared_path.read_text()
    response = await unit_client.patch("/unit_api/config/shared", json={"code": "[a]\nb=1\n"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Missing required field(s)")
    assert unit.config_files.shared_path.read_text() == before


async def test_specific_config_round_trip_masks_secrets(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should store the unit's file, read it back as text or JSON with the password
    masked, keep the password when the mask comes back, and let it win in the merge."""
    code = "[mqtt]\npassword=hunter2\n\n[stirring.config]\ninitial_target_rpm=250\n"
    assert (
        await unit_client.post("/unit_api/config/specific", json={"code": code})
    ).status_code == 200
    text = (await unit_client.get("/unit_api/config/specific")).text
    assert "hunter2" not in text and f"password={MASK}" in text
    as_json = (await unit_client.get("/unit_api/config/specific?format=json")).json()
    assert as_json == {"code": text}
    edited = text.replace("250", "260")
    assert (
        await unit_client.patch("/unit_api/config/specific", json={"code": edited})
    ).status_code == 200
    assert "password=hunter2" in unit.config_files.unit_path.read_text()
    merged = (await unit_client.get("/unit_api/config/merged")).json()
    assert merged["stirring.config"]["initial_target_rpm"] == "260"
    assert merged["mqtt"]["password"] == MASK
    bad = await unit_client.patch("/unit_api/config/specific", json={"code": "[a]\nx=1\nx=2\n"})
    assert bad.status_code == 400 and "line 3" in bad.json()["cause"]


async def test_leader_refuses_a_pushed_shared_config(client: httpx.AsyncClient) -> None:
    """It should not let /unit_api overwrite the leader's shared file (it is the source)."""
    response = await client.patch("/unit_api/config/shared", json={"code": "[mqtt]\n"})
    assert response.status_code == 403
