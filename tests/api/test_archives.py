"""Backups through the leader: one unit's zip, the cluster's merged zip, and imports checked on
the leader before they are forwarded."""

from __future__ import annotations

import io
import json
import zipfile

import httpx

from pioleader.services import Services
from tests.api.test_system import assert_error
from tests.conftest import LEADER_PORT, UNIT_PORTS, add_worker, poll_task
from tests.fakes import FakeUnits


def unit_zip(unit: str, **files: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pioreactor_export_metadata.json", json.dumps({"name": unit}))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def serve_zip(content: bytes):  # type: ignore[no-untyped-def]
    return lambda request: httpx.Response(200, content=content)


async def test_one_unit_and_the_cluster(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should pass one unit's zip through, and merge every unit's under <unit>/ for
    $broadcast, naming the units that failed."""
    for unit in ("pio01", "pio02"):
        await add_worker(client, unit)
    pio01 = unit_zip("pio01", **{"config.ini": b"[a]"})
    units.handlers[UNIT_PORTS["pio01"]] = serve_zip(pio01)
    units.handlers[LEADER_PORT] = serve_zip(unit_zip("leader"))
    units.down.add(UNIT_PORTS["pio02"])

    one = await client.get("/api/units/pio01/zipped_dot_pioreactor")
    assert one.status_code == 200 and one.content == pio01
    assert 'filename="dot_pioreactor.zip"' in one.headers["content-disposition"]

    cluster = await client.get("/api/units/$broadcast/zipped_dot_pioreactor")
    assert cluster.status_code == 200
    with zipfile.ZipFile(io.BytesIO(cluster.content)) as archive:
        names = set(archive.namelist())
        failed = json.loads(archive.read("failed_units.json"))
    assert names == {
        "leader/pioreactor_export_metadata.json",
        "pio01/pioreactor_export_metadata.json",
        "pio01/config.ini",
        "failed_units.json",
    }
    assert failed["pio02"]["kind"] == "connection_error"

    down = assert_error(await client.get("/api/units/pio02/zipped_dot_pioreactor"), 502)
    assert "pio02" in down["cause"]
    # A unit that answers something other than a zip has failed too.
    units.handlers[UNIT_PORTS["pio01"]] = lambda request: httpx.Response(200, json={})
    assert_error(await client.get("/api/units/pio01/zipped_dot_pioreactor"), 502)


async def test_import_is_checked_then_forwarded(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should refuse bad or foreign archives and $broadcast before any unit is asked, and
    forward a good one as multipart."""
    await add_worker(client, "pio01")
    url = "/api/units/pio01/import_zipped_dot_pioreactor"

    def files(content: bytes) -> dict:
        return {"archive": ("backup.zip", content, "application/zip")}

    assert "not a zip" in assert_error(await client.post(url, files=files(b"x")), 400)["cause"]
    foreign = assert_error(await client.post(url, files=files(unit_zip("pio02"))), 400)
    assert "belongs to 'pio02'" in foreign["cause"]
    assert_error(
        await client.post(
            "/api/units/$broadcast/import_zipped_dot_pioreactor", files=files(unit_zip("pio01"))
        ),
        400,
    )
    assert units.sent == []

    received: list[bytes] = []

    def accept(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(200, json={"restored_files": 1})

    units.handlers[UNIT_PORTS["pio01"]] = accept
    good = unit_zip("pio01", **{"config.ini": b"[a]"})
    done = await poll_task(client, services, await client.post(url, files=files(good)))
    assert done["result"]["pio01"] == {"ok": True, "unit": "pio01", "value": {"restored_files": 1}}
    assert [s.path for s in units.sent] == ["/unit_api/import_zipped_dot_pioreactor"]
    assert good in received[0] and b'name="archive"' in received[0]
