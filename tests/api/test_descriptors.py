"""UI descriptors: the leader's own files, and a worker's through its unit API."""

from __future__ import annotations

import httpx
import pytest

from pioleader.services import Services
from tests.conftest import UNIT_PORTS, add_worker
from tests.fakes import FakeUnits


async def test_leader_serves_its_descriptors(client: httpx.AsyncClient) -> None:
    jobs = (await client.get("/api/jobs/descriptors")).json()
    stirring = next(j for j in jobs if j["job_name"] == "stirring")
    target = next(s for s in stirring["published_settings"] if s["key"] == "target_rpm")
    assert target == {
        "key": "target_rpm",
        "type": "numeric",
        "display": True,
        "description": target["description"],
        "default": None,
        "unit": "RPM",
        "label": "Target stir RPM",
        "editable": True,
        "min": 0.0,
        "max": 5000.0,
    }
    assert stirring["source"] == "app" and stirring["is_testing"] is False

    thermostat = (await client.get("/api/automations/descriptors/temperature")).json()
    assert [a["automation_name"] for a in thermostat] == ["only_record_temperature", "thermostat"]
    field = thermostat[1]["fields"][0]
    assert field["key"] == "target_temperature" and field["required"] is True
    assert field["unit"] == "℃" and field["type"] == "numeric" and field["disabled"] is False

    settings = (await client.get("/api/settings/descriptors")).json()
    assert {s["key"] for s in settings} == {"bioreactor", "leds"}
    charts = (await client.get("/api/charts/descriptors")).json()
    growth = next(c for c in charts if c["chart_key"] == "implied_growth_rate")
    assert growth["mqtt_topic"] == "growth_rate_calculating/growth_rate"
    assert growth["data_source"] == "growth_rates" and growth["payload_key"] == "growth_rate"


async def test_unknown_automation_type_is_a_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/automations/descriptors/pumping", "/unit_api/automations/descriptors/x"):
        response = await client.get(path)
        assert response.status_code == 404
        assert "dosing, led or temperature" in response.json()["remediation"]


async def test_user_files_add_to_and_replace_the_shipped_ones(
    client: httpx.AsyncClient, services: Services
) -> None:
    folder = services.settings.data_dir / "ui" / "automations" / "dosing"
    folder.mkdir(parents=True)
    (folder / "chemostat.yaml").write_text(
        "display_name: My chemostat\nautomation_name: chemostat\nfields: []\n"
    )
    (folder / "broken.yaml").write_text("display_name: [unclosed\n")
    dosing = (await client.get("/api/automations/descriptors/dosing")).json()
    names = {a["automation_name"]: a["display_name"] for a in dosing}
    assert names["chemostat"] == "My chemostat" and "turbidostat" in names
    assert len(dosing) == 5  # the broken file is skipped, not fatal


@pytest.mark.parametrize(
    ("path", "unit_path"),
    [
        ("/api/workers/pio01/jobs/descriptors", "/unit_api/jobs/descriptors"),
        (
            "/api/workers/pio01/automations/descriptors/led",
            "/unit_api/automations/descriptors/led",
        ),
        ("/api/workers/pio01/settings/descriptors", "/unit_api/settings/descriptors"),
    ],
)
async def test_worker_descriptors_come_from_the_worker(
    client: httpx.AsyncClient, units: FakeUnits, path: str, unit_path: str
) -> None:
    await add_worker(client, "pio01")
    # The worker answers with the leader's own files, renamed, so the origin is visible.
    own = (await client.get(unit_path)).json()
    for item in own:
        item["display_name"] = "from pio01"
    units.handlers[UNIT_PORTS["pio01"]] = lambda request: httpx.Response(200, json=own)
    response = await client.get(path)
    assert response.status_code == 200
    assert {item["display_name"] for item in response.json()} == {"from pio01"}
    assert [s.path for s in units.to(UNIT_PORTS["pio01"])] == [unit_path]


async def test_worker_descriptors_errors(client: httpx.AsyncClient, units: FakeUnits) -> None:
    unknown = await client.get("/api/workers/nobody/jobs/descriptors")
    assert unknown.status_code == 400
    await add_worker(client, "pio01")
    units.down.add(UNIT_PORTS["pio01"])
    down = await client.get("/api/workers/pio01/settings/descriptors")
    assert down.status_code == 502 and "pio01" in down.json()["error"]
    bad_type = await client.get("/api/workers/pio01/automations/descriptors/pumping")
    assert bad_type.status_code == 404
    assert units.to(UNIT_PORTS["pio01"])[-1].path == "/unit_api/settings/descriptors"
