"""Calibrations and estimators on a unit: YAML validated and stored as files, active pointers,
protocols and the zip of every file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
import yaml

from pioleader.unit.calibrations.usage import plan_dose
from pioleader.unit.services import UnitServices

PUMP_YAML = """\
calibration_type: simple_peristaltic_pump
calibration_name: pump-1
calibrated_on_pioreactor_unit: pio01
created_at: 2026-01-01T00:00:00Z
curve_data_:
  type: poly
  coefficients: [0.5, 0.1]
x: Duration
y: Volume
recorded_data:
  x: [1.0, 2.0]
  y: [0.6, 1.1]
hz: 250.0
dc: 100.0
voltage: -1.0
"""

OD_YAML = """\
calibration_type: od600
calibration_name: od-standards
calibrated_on_pioreactor_unit: pio01
created_at: 2026-01-01T00:00:00+00:00
curve_data_:
  type: akima
  knots: [0.0, 1.0, 2.0]
  coefficients: [[0.0, 0.1, 0.0, 0.0], [0.1, 0.1, 0.0, 0.0]]
x: OD600
y: Voltage
recorded_data: {x: [0.0, 1.0, 2.0], y: [0.0, 0.1, 0.2]}
ir_led_intensity: 80
angle: "90"
pd_channel: "2"
"""


def with_field(text: str, key: str, value: str) -> str:
    return "\n".join(
        f"{key}: {value}" if line.startswith(f"{key}:") else line for line in text.splitlines()
    )


async def create(client: httpx.AsyncClient, device: str, text: str, active: bool = False):
    return await client.post(
        f"/unit_api/calibrations/{device}",
        json={"calibration_data": text, "set_as_active": active},
    )


async def test_create_stores_the_yaml_verbatim_and_lists_it(
    unit_client: httpx.AsyncClient, unit: UnitServices, tmp_path: Path
) -> None:
    """It should write <device>/<name>.yaml as sent and list it with is_active and the unit."""
    created = await create(unit_client, "media_pump", PUMP_YAML)
    assert created.status_code == 201, created.text
    path = tmp_path / "pio01" / "storage" / "calibrations" / "media_pump" / "pump-1.yaml"
    assert created.json()["path"] == str(path)
    assert path.read_text() == PUMP_YAML

    listed = (await unit_client.get("/unit_api/calibrations")).json()
    assert list(listed) == ["media_pump"]
    [calibration] = listed["media_pump"]
    assert calibration["calibration_name"] == "pump-1"
    assert calibration["curve_data_"] == {"type": "poly", "coefficients": [0.5, 0.1]}
    assert calibration["is_active"] is False and calibration["pioreactor_unit"] == "pio01"
    one = await unit_client.get("/unit_api/calibrations/media_pump/pump-1")
    assert one.json() == calibration
    assert (await unit_client.get("/unit_api/calibrations/media_pump")).json() == [calibration]
    assert (await unit_client.get("/unit_api/active_calibrations")).json() == {}


async def test_active_pointer_set_cleared_and_dropped_with_the_file(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should set, show and clear the active calibration, and forget it when deleted."""
    assert (await create(unit_client, "od90", OD_YAML, active=True)).status_code == 201
    active = (await unit_client.get("/unit_api/active_calibrations")).json()
    assert list(active) == ["od90"] and active["od90"]["is_active"] is True

    cleared = await unit_client.delete("/unit_api/active_calibrations/od90")
    assert cleared.status_code == 200 and cleared.json() == {"status": "success"}
    assert (await unit_client.get("/unit_api/active_calibrations")).json() == {}

    patched = await unit_client.patch("/unit_api/active_calibrations/od90/od-standards")
    assert patched.status_code == 200
    assert (await unit.calibrations.active_names()) == {"od90": "od-standards"}
    missing = await unit_client.patch("/unit_api/active_calibrations/od90/nope")
    assert missing.status_code == 404 and "od90/nope" in missing.json()["cause"]

    deleted = await unit_client.delete("/unit_api/calibrations/od90/od-standards")
    assert deleted.status_code == 200
    assert (await unit.calibrations.active_names()) == {}
    again = await unit_client.delete("/unit_api/calibrations/od90/od-standards")
    assert again.status_code == 404
    assert (await unit_client.get("/unit_api/calibrations/od90")).json() == []


@pytest.mark.parametrize(
    ("device", "text", "status", "fragment"),
    [
        ("media_pump", "calibration_type: [unclosed", 400, "not valid YAML"),
        ("media_pump", "- a list", 400, "mapping"),
        ("media_pump", with_field(PUMP_YAML, "calibration_type", "laser"), 400, "laser"),
        ("media_pump", with_field(PUMP_YAML, "hz", "fast"), 400, "hz"),
        ("media_pump", with_field(PUMP_YAML, "created_at", "2026-01-01T00:00:00"), 400, "zone"),
        ("media_pump", with_field(PUMP_YAML, "calibration_name", "../../etc"), 400, "'..'"),
        ("media_pump", with_field(PUMP_YAML, "calibration_name", "a/b"), 400, "separator"),
        ("media_pump", PUMP_YAML.replace("y: [0.6, 1.1]", "y: [0.6]"), 400, "same length"),
        ("od90", PUMP_YAML, 400, "cannot calibrate 'od90'"),
        ("laser", PUMP_YAML, 400, "not a calibratable device"),
        ("a..b", PUMP_YAML, 400, "'..'"),
        (
            "od90",
            OD_YAML.replace("[0.0, 1.0, 2.0]\n", "[0.0, 2.0, 1.0]\n"),
            400,
            "strictly increasing",
        ),
        ("od90", OD_YAML.replace(", [0.1, 0.1, 0.0, 0.0]", ""), 400, "one entry per interval"),
    ],
)
async def test_bad_calibrations_are_refused_and_nothing_is_written(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    tmp_path: Path,
    device: str,
    text: str,
    status: int,
    fragment: str,
) -> None:
    """It should answer 4xx naming the problem, and write no file."""
    response = await create(unit_client, device, text)
    assert response.status_code == status, response.text
    body = response.json()
    assert fragment in body["cause"], body
    assert body["remediation"]
    assert not (tmp_path / "pio01" / "storage" / "calibrations").exists()


async def test_path_names_with_dot_dot_are_refused(unit_client: httpx.AsyncClient) -> None:
    """It should refuse device or calibration names that could leave the folder."""
    for path in (
        "/unit_api/calibrations/media_pump/..hidden",
        "/unit_api/calibrations/..",
        "/unit_api/estimators/od_fused/a..b",
    ):
        response = await unit_client.get(path)
        assert response.status_code in (400, 404), (path, response.text)
        if response.status_code == 400:
            assert "'..'" in response.json()["remediation"]


async def test_estimators_listed_activated_deleted(
    unit_client: httpx.AsyncClient, unit: UnitServices, tmp_path: Path
) -> None:
    """It should list estimator files (with device), point at one and delete it."""
    assert (await unit_client.get("/unit_api/estimators")).json() == {}
    assert (await unit_client.get("/unit_api/estimators/od_fused")).json() == []
    folder = tmp_path / "pio01" / "storage" / "estimators" / "od_fused"
    folder.mkdir(parents=True)
    (folder / "fused-1.yaml").write_text(
        yaml.safe_dump(
            {
                "estimator_type": "od_fused_estimator",
                "estimator_name": "fused-1",
                "calibrated_on_pioreactor_unit": "pio01",
                "created_at": "2026-01-01T00:00:00Z",
                "mu_splines": {"45": [0.1]},
            }
        )
    )
    [listed] = (await unit_client.get("/unit_api/estimators")).json()["od_fused"]
    assert listed["device"] == "od_fused" and listed["mu_splines"] == {"45": [0.1]}
    assert (await unit_client.patch("/unit_api/active_estimators/od_fused/fused-1")).is_success
    active = (await unit_client.get("/unit_api/active_estimators")).json()
    assert active["od_fused"]["is_active"] is True
    assert (await unit_client.delete("/unit_api/estimators/od_fused/fused-1")).is_success
    assert (await unit_client.get("/unit_api/active_estimators")).json() == {}
    gone = await unit_client.get("/unit_api/estimators/od_fused/fused-1")
    assert gone.status_code == 404


async def test_zip_holds_every_file_and_protocols_are_sorted(
    unit_client: httpx.AsyncClient,
) -> None:
    """It should zip each calibration as <unit>/<device>/<name>.yaml, verbatim."""
    await create(unit_client, "media_pump", PUMP_YAML)
    await create(unit_client, "od90", OD_YAML)
    response = await unit_client.get("/unit_api/zipped_calibrations")
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["pio01/media_pump/pump-1.yaml", "pio01/od90/od-standards.yaml"]
    assert archive.read("pio01/media_pump/pump-1.yaml").decode() == PUMP_YAML

    protocols = (await unit_client.get("/unit_api/calibration_protocols")).json()
    keys = [(p["target_device"], p["priority"], p["title"]) for p in protocols]
    assert keys == sorted(keys)
    assert {"media_pump_duration_based", "stirring_dc_based", "od90_standards"} <= {
        p["id"] for p in protocols
    }


async def test_dosing_plans_through_the_active_pump_calibration(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should turn mL into seconds (and seconds into mL) by the active calibration, and use
    the nominal rate at full duty cycle while the pump has none."""
    nominal = await plan_dose(
        unit.calibrations, "media", ml=1.5, seconds=None, nominal_ml_per_second=0.75
    )
    assert (nominal.seconds, nominal.duty_cycle) == (2.0, 100.0)
    await create(unit_client, "media_pump", with_field(PUMP_YAML, "dc", "80.0"), active=True)
    by_ml = await plan_dose(
        unit.calibrations, "media", ml=1.1, seconds=None, nominal_ml_per_second=0.75
    )
    assert by_ml.seconds == pytest.approx(2.0) and by_ml.duty_cycle == 80.0
    by_time = await plan_dose(
        unit.calibrations, "media", ml=None, seconds=3.0, nominal_ml_per_second=0.75
    )
    assert by_time.ml == pytest.approx(1.6)
    other = await plan_dose(
        unit.calibrations, "waste", ml=1.0, seconds=None, nominal_ml_per_second=0.5
    )
    assert other.seconds == 2.0  # waste_pump has no calibration
