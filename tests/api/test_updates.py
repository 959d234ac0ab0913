"""Uploads and software updates through the leader: safe names, validated release archives,
and reports that never call a half-updated cluster updated."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

import httpx

from pioleader.services import Services
from tests.api.test_system import UNITS, assert_error
from tests.conftest import LEADER_PORT, UNIT_PORTS, add_worker, poll_task
from tests.fakes import FakeUnits


def release(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return buffer.getvalue()


async def upload(client: httpx.AsyncClient, name: str, content: bytes) -> httpx.Response:
    return await client.post("/api/system/upload", files={"file": (name, content)})


async def test_upload_keeps_a_safe_name(client: httpx.AsyncClient, services: Services) -> None:
    """It should store the file under the uploads folder with a prefixed, safe name."""
    response = await upload(client, "../../etc/my release?.zip", b"content")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "File successfully uploaded"
    path = Path(body["save_path"])
    assert path.parent == services.settings.data_dir / "uploads"
    assert path.name.startswith("pioreactor_update_archive_")
    assert path.name.endswith("_my_release_.zip")
    assert await asyncio.to_thread(path.read_bytes) == b"content"


async def test_upload_refusals(client: httpx.AsyncClient, services: Services) -> None:
    """It should refuse a missing file, a name with nothing usable, and disabled uploads."""
    missing = assert_error(
        await client.post("/api/system/upload", files={"other": ("a", b"")}), 400
    )
    assert "file" in missing["cause"]
    assert "file" in assert_error(await upload(client, "..", b"x"), 400)["cause"]
    (services.settings.data_dir / "DISALLOW_UI_UPLOADS").touch()
    assert_error(await upload(client, "a.zip", b"x"), 403)
    assert not (services.settings.data_dir / "uploads").exists()


def answer(value: dict[str, Any]):  # type: ignore[no-untyped-def]
    return lambda request: httpx.Response(200, json=value)


async def test_update_reports_every_unit_honestly(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should say updated only when every unit updated, naming simulated and failed ones."""
    for unit in UNIT_PORTS:
        await add_worker(client, unit)
    for port in (LEADER_PORT, *UNIT_PORTS.values()):
        units.handlers[port] = answer({"updated": True, "simulated": False})
    done = await poll_task(client, services, await client.post("/api/system/update_next_version"))
    assert done["result"]["updated"] is True
    assert list(done["result"]["units"]) == UNITS
    assert {s.path for s in units.sent} == {"/unit_api/system/update"}

    units.handlers[UNIT_PORTS["pio02"]] = answer({"updated": False, "simulated": True})
    units.down.add(UNIT_PORTS["pio03"])
    done = await poll_task(
        client, services, await client.post("/api/system/update_next_version", json={})
    )
    assert done["result"]["updated"] is False
    assert done["result"]["msg"] == (
        "2 of 4 unit(s) updated; simulated, not updated: pio02; failed or unreachable: pio03."
    )
    units.sent.clear()
    one = await poll_task(
        client,
        services,
        await client.post("/api/system/update_next_version", json={"units": "pio01"}),
    )
    assert list(one["result"]["units"]) == ["pio01"] and one["result"]["updated"] is True
    assert_error(await client.post("/api/system/update_next_version", json={"units": "pio77"}), 400)


async def test_update_from_archive(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, tmp_path: Path
) -> None:
    """It should accept an uploaded release with one pioleader wheel and refuse the rest."""
    await add_worker(client, "pio01")
    good = (await upload(client, "r.zip", release("pioleader-0.2.0-py3-none-any.whl"))).json()
    url = "/api/system/update_from_archive"
    done = await poll_task(
        client,
        services,
        await client.post(url, json={"release_archive_location": good["save_path"]}),
    )
    assert set(done["result"]["units"]) == {"leader", "pio01"}
    bodies = [s.body for s in units.sent]
    assert bodies == [{"target_version": "0.2.0", "source": Path(good["save_path"]).name}] * 2

    outside = tmp_path / "elsewhere.zip"
    outside.write_bytes(release("pioleader-0.2.0-py3-none-any.whl"))
    no_wheel = (await upload(client, "n.zip", release("README"))).json()["save_path"]
    climbing = await upload(client, "c.zip", release("../pioleader-0.2.0-py3-none-any.whl"))
    not_zip = (await upload(client, "x.zip", b"nope")).json()["save_path"]
    for location, fragment in [
        ("", "release_archive_location"),
        (good["save_path"][:-4] + ".tar", "not a .zip"),
        (str(outside), "neither an upload nor on the USB drive"),
        (no_wheel, "holds 0 pioleader wheels"),
        (climbing.json()["save_path"], "'..'"),
        (not_zip, "not a zip"),
        (str(services.settings.data_dir / "uploads" / "missing.zip"), "does not exist"),
    ]:
        error = assert_error(
            await client.post(url, json={"release_archive_location": location}), 400
        )
        assert fragment in error["cause"], (location, error)
