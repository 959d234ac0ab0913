"""USB endpoints of the leader: one unit at a time, and exports to USB landing on the drive."""

from __future__ import annotations

import httpx

from pioleader.services import Services
from pioleader.settings import LeaderSettings
from tests.api.test_system import assert_error, requests
from tests.conftest import UNIT_PORTS, add_worker, poll_task
from tests.fakes import FakeUnits


async def test_one_unit_at_a_time(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should send each USB request to the named unit only, and refuse $broadcast or an
    unknown unit."""
    await add_worker(client, "pio01")
    for method, path in [
        ("GET", "usb"),
        ("GET", "usb/artifacts"),
        ("POST", "usb/mount"),
        ("POST", "usb/eject"),
    ]:
        assert_error(await client.request(method, f"/api/units/$broadcast/{path}"), 400)
        assert_error(await client.request(method, f"/api/units/pio07/{path}"), 400)
        done = await poll_task(
            client, services, await client.request(method, f"/api/units/pio01/{path}")
        )
        assert list(done["result"]) == ["pio01"]
    body = {"device": None}
    assert requests(units) == [
        (UNIT_PORTS["pio01"], "GET", "/unit_api/usb", None),
        (UNIT_PORTS["pio01"], "GET", "/unit_api/usb/artifacts", None),
        (UNIT_PORTS["pio01"], "POST", "/unit_api/usb/mount", body),
        (UNIT_PORTS["pio01"], "POST", "/unit_api/usb/eject", body),
    ]


async def test_export_lands_on_the_mounted_drive(
    client: httpx.AsyncClient, services: Services, settings: LeaderSettings
) -> None:
    """It should write exports to USB onto the leader's drive once it is mounted."""
    drive = settings.data_dir / "usb_drive"
    drive.mkdir()
    refused = await client.post(
        "/api/datasets/exportable/export-to-usb", json={"datasets": ["logs"]}
    )
    assert_error(refused, 409)
    mounted = await poll_task(client, services, await client.post("/unit_api/usb/mount"))
    assert mounted["result"]["result"] == "mounted"
    done = await poll_task(
        client,
        services,
        await client.post("/api/datasets/exportable/export-to-usb", json={"datasets": ["logs"]}),
    )
    filename = done["result"]["filename"]
    assert (drive / "pioreactor" / "exports" / filename).is_file()
