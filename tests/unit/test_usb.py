"""A unit's simulated USB drive: status, mount, artifacts, eject, and refusals."""

from __future__ import annotations

import httpx

from pioleader.unit.services import UnitServices
from tests.unit.conftest import finished


async def test_drive_lifecycle(unit_client: httpx.AsyncClient, unit: UnitServices) -> None:
    """It should go absent → present → mounted → ejected, listing artifacts while mounted."""
    drive = unit.data_dir / "usb_drive"
    status = (await unit_client.get("/unit_api/usb")).json()
    assert status == {"status": "absent", "partitions": [], "active_mount": None}
    refused = await finished(unit_client, unit, await unit_client.post("/unit_api/usb/mount"))
    assert refused["status"] == "failed" and "No USB drive is present" in refused["cause"]

    (drive / "plugins").mkdir(parents=True)
    (drive / "pioreactor-25.11.0.zip").write_bytes(b"PK")
    (drive / "plugins" / "hello_plugin-0.1.0-py3-none-any.whl").write_bytes(b"PK")
    (drive / "plugins" / "waver.py").write_text("")
    (drive / "notes.txt").write_text("")
    status = (await unit_client.get("/unit_api/usb")).json()
    assert status["status"] == "present_unmounted"
    assert [p["device"] for p in status["partitions"]] == ["usb0"]
    not_mounted = await unit_client.get("/unit_api/usb/artifacts")
    assert not_mounted.status_code == 409

    mounted = await finished(
        unit_client, unit, await unit_client.post("/unit_api/usb/mount", json={"device": "usb0"})
    )
    mountpoint = str(unit.data_dir / "usb")
    assert mounted["result"]["result"] == "mounted"
    assert mounted["result"]["mountpoint"] == mountpoint
    status = (await unit_client.get("/unit_api/usb")).json()
    assert status["status"] == "mounted" and status["active_mount"] == mountpoint
    again = await finished(unit_client, unit, await unit_client.post("/unit_api/usb/mount"))
    assert again["result"]["result"] == "already_mounted"

    artifacts = (await unit_client.get("/unit_api/usb/artifacts")).json()
    assert artifacts["mountpoint"] == mountpoint and artifacts["writable"] is True
    assert artifacts["free_bytes"] > 0
    assert artifacts["updates"] == [{"path": "pioreactor-25.11.0.zip", "version": "25.11.0"}]
    assert artifacts["plugins"] == [
        {
            "path": "plugins/hello_plugin-0.1.0-py3-none-any.whl",
            "name": "hello-plugin",
            "version": "0.1.0",
            "kind": "wheel",
        },
        {"path": "plugins/waver.py", "name": "waver", "version": "", "kind": "python_file"},
    ]

    ejected = await finished(unit_client, unit, await unit_client.post("/unit_api/usb/eject"))
    assert ejected["result"]["result"] == "ejected"
    assert (await unit_client.get("/unit_api/usb")).json()["status"] == "present_unmounted"
    assert (drive / "notes.txt").exists()  # ejecting leaves the drive's files alone
    nothing = await finished(unit_client, unit, await unit_client.post("/unit_api/usb/eject"))
    assert nothing["result"]["result"] == "not_mounted"


async def test_refusals(unit_client: httpx.AsyncClient, unit: UnitServices) -> None:
    """It should refuse unknown devices and bad bodies, and report a drive that went away."""
    drive = unit.data_dir / "usb_drive"
    drive.mkdir()
    wrong = await finished(
        unit_client, unit, await unit_client.post("/unit_api/usb/mount", json={"device": "sdz9"})
    )
    assert wrong["status"] == "failed" and "sdz9" in wrong["cause"]
    bad = await unit_client.post("/unit_api/usb/mount", json={"device": 3})
    assert bad.status_code == 400 and "device" in bad.json()["cause"]
    await finished(unit_client, unit, await unit_client.post("/unit_api/usb/mount"))
    drive.rmdir()
    status = (await unit_client.get("/unit_api/usb")).json()
    assert status["status"] == "error" and "gone" in status["error"]


async def test_configured_drive_directory(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should use [pioleader] usb_drive_dir as the drive."""
    elsewhere = unit.data_dir.parent / "stick"
    elsewhere.mkdir()
    unit.config_files.unit_path.write_text(f"[pioleader]\nusb_drive_dir={elsewhere}\n")
    await finished(unit_client, unit, await unit_client.post("/unit_api/usb/mount"))
    assert (unit.data_dir / "usb").resolve() == elsewhere.resolve()
