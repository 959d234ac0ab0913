"""Calibration, estimator and session endpoints of the leader, against fake workers: what is
sent to which worker, $broadcast, YAML checked before any worker is asked, proxied errors."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pytest

from pioleader.services import Services
from tests.conftest import UNIT_PORTS, add_worker, poll_task
from tests.fakes import FakeUnits
from tests.unit.test_calibrations import PUMP_YAML

PIO01, PIO02 = UNIT_PORTS["pio01"], UNIT_PORTS["pio02"]


@pytest.fixture
async def workers(client: httpx.AsyncClient) -> None:
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")


def sent(units: FakeUnits) -> list[tuple[int, str, str, Any]]:
    return [(r.port, r.method, r.path, r.body) for r in units.sent]


@pytest.mark.parametrize(
    ("method", "path", "unit_path"),
    [
        ("GET", "calibrations", "/unit_api/calibrations"),
        ("GET", "calibrations/od90", "/unit_api/calibrations/od90"),
        ("GET", "calibrations/od90/cal-1", "/unit_api/calibrations/od90/cal-1"),
        ("DELETE", "calibrations/od90/cal-1", "/unit_api/calibrations/od90/cal-1"),
        ("GET", "active_calibrations", "/unit_api/active_calibrations"),
        ("PATCH", "active_calibrations/od90/cal-1", "/unit_api/active_calibrations/od90/cal-1"),
        ("DELETE", "active_calibrations/od90", "/unit_api/active_calibrations/od90"),
        ("GET", "calibration_protocols", "/unit_api/calibration_protocols"),
        ("GET", "estimators", "/unit_api/estimators"),
        ("GET", "estimators/od_fused", "/unit_api/estimators/od_fused"),
        ("GET", "estimators/od_fused/e1", "/unit_api/estimators/od_fused/e1"),
        ("DELETE", "estimators/od_fused/e1", "/unit_api/estimators/od_fused/e1"),
        ("GET", "active_estimators", "/unit_api/active_estimators"),
        ("PATCH", "active_estimators/od_fused/e1", "/unit_api/active_estimators/od_fused/e1"),
        ("DELETE", "active_estimators/od_fused", "/unit_api/active_estimators/od_fused"),
    ],
)
async def test_each_endpoint_reaches_the_worker_or_every_worker(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    workers: None,
    method: str,
    path: str,
    unit_path: str,
) -> None:
    """It should send the unit request to the named worker, and to all workers for $broadcast."""
    one = await poll_task(
        client, services, await client.request(method, f"/api/workers/pio02/{path}")
    )
    assert one["status"] == "succeeded" and list(one["result"]) == ["pio02"]
    assert sent(units) == [(PIO02, method, unit_path, None)]
    units.sent.clear()
    every = await client.request(method, f"/api/workers/$broadcast/{path}")
    result = (await poll_task(client, services, every))["result"]
    assert set(result) == {"pio01", "pio02"} and all(e["ok"] for e in result.values())
    assert sorted(r[0] for r in sent(units)) == [PIO01, PIO02]


async def test_create_checks_the_yaml_before_asking_workers(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, workers: None
) -> None:
    """It should refuse bad YAML or a wrong device with 400 and send nothing; else forward it."""
    bad = await client.post(
        "/api/workers/pio01/calibrations/media_pump",
        json={"calibration_data": "calibration_type: simple_peristaltic_pump\n"},
    )
    assert bad.status_code == 400 and "calibration_name" in bad.json()["cause"]
    wrong = await client.post(
        "/api/workers/pio01/calibrations/stirring", json={"calibration_data": PUMP_YAML}
    )
    assert wrong.status_code == 400 and "stirring" in wrong.json()["cause"]
    assert units.sent == []

    body = {"calibration_data": PUMP_YAML, "set_as_active": True}
    created = await client.post("/api/workers/pio01/calibrations/media_pump", json=body)
    assert (await poll_task(client, services, created))["result"]["pio01"]["ok"] is True
    assert sent(units) == [(PIO01, "POST", "/unit_api/calibrations/media_pump", body)]


async def test_unknown_worker_and_bad_names_are_400(
    client: httpx.AsyncClient, units: FakeUnits, workers: None
) -> None:
    """It should refuse unregistered workers and names with '..' before any request."""
    unknown = await client.get("/api/workers/nope/calibrations")
    assert unknown.status_code == 400 and "nope" in unknown.json()["cause"]
    dotted = await client.get("/api/workers/pio01/calibrations/media_pump/..secret")
    assert dotted.status_code == 400 and "calibration_name" in dotted.json()["cause"]
    assert units.sent == []


async def test_zip_of_every_worker_skips_the_silent_ones(
    client: httpx.AsyncClient, units: FakeUnits, workers: None
) -> None:
    """It should zip each answering worker's calibrations as <worker>/<device>/<name>.yaml."""
    listing = {
        "media_pump": [
            {"calibration_name": "p1", "hz": 250.0, "is_active": True, "pioreactor_unit": "pio01"}
        ]
    }
    units.handlers[PIO01] = lambda request: httpx.Response(200, json=listing)
    units.down.add(PIO02)
    response = await client.get("/api/workers/$broadcast/zipped_calibrations")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["pio01/media_pump/p1.yaml"]
    assert archive.read("pio01/media_pump/p1.yaml").decode() == "calibration_name: p1\nhz: 250.0\n"


async def test_sessions_go_to_one_worker_and_keep_its_errors(
    client: httpx.AsyncClient, units: FakeUnits, workers: None
) -> None:
    """It should refuse $broadcast, pass the worker's error through, and 502 when it is down."""
    body = {"target_device": "media_pump", "protocol_name": "duration_based"}
    broadcast = await client.post("/api/workers/$broadcast/calibrations/sessions", json=body)
    assert broadcast.status_code == 400 and "$broadcast" in broadcast.json()["cause"]

    refusal = {
        "error": "Missing 'volume_ml'.",
        "cause": "inputs",
        "remediation": "Send it.",
        "status": 400,
    }
    units.handlers[PIO01] = lambda request: httpx.Response(400, json=refusal)
    refused = await client.post(
        "/api/workers/pio01/calibrations/sessions/abc/inputs", json={"inputs": {}}
    )
    assert refused.status_code == 400 and refused.json() == refusal
    assert units.sent[-1].path == "/unit_api/calibrations/sessions/abc/inputs"

    units.down.add(PIO02)
    down = await client.get("/api/workers/pio02/calibrations/sessions/abc")
    assert down.status_code == 502 and "could not be reached" in down.json()["error"]

    units.handlers[PIO01] = lambda request: httpx.Response(200, json={"session": "?"})
    garbled = await client.get("/api/workers/pio01/calibrations/sessions/abc")
    assert garbled.status_code == 502 and "not a calibration session" in garbled.json()["error"]
