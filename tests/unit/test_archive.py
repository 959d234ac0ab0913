"""Backing up and restoring a unit's data directory through the unit API."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import httpx

from pioleader.unit.services import RecordingLifecycle, UnitServices
from tests.unit.conftest import finished

CALIBRATION = "calibrations/od/od90.yaml"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "storage" not in p.parts
    }


def make_zip(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def metadata(name: str) -> bytes:
    return json.dumps({"metadata_version": 1, "name": name}).encode()


async def upload(client: httpx.AsyncClient, content: bytes) -> httpx.Response:
    return await client.post(
        "/unit_api/import_zipped_dot_pioreactor",
        files={"archive": ("dot_pioreactor.zip", content, "application/zip")},
    )


async def test_backup_and_restore_round_trip(
    unit_client: httpx.AsyncClient, unit: UnitServices, lifecycle: RecordingLifecycle
) -> None:
    """It should zip the data directory without run-time state, and restore it, keeping the
    replaced files aside, then restart the unit."""
    calibration = unit.data_dir / CALIBRATION
    calibration.parent.mkdir(parents=True)
    calibration.write_text("curve: [1, 2]\n")
    (unit.data_dir / "usb_drive").mkdir()
    (unit.data_dir / "usb_drive" / "big.bin").write_bytes(b"x")

    response = await unit_client.get("/unit_api/zipped_dot_pioreactor")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    backup = response.content
    with zipfile.ZipFile(io.BytesIO(backup)) as archive:
        names = set(archive.namelist())
        meta = json.loads(archive.read("pioreactor_export_metadata.json"))
    assert {CALIBRATION, "config.ini", "unit_config.ini"} <= names
    assert not any(n.startswith(("usb_drive/", "logs/")) or "task_results" in n for n in names)
    assert meta["name"] == "pio01" and meta["leader_hostname"] == "leader"
    assert meta["is_leader"] is False and meta["metadata_version"] == 1

    calibration.write_text("curve: changed\n")
    (unit.data_dir / "unit_config.ini").write_text("[stirring.config]\ninitial_duty_cycle=3\n")
    done = await finished(unit_client, unit, await upload(unit_client, backup))
    assert done["status"] == "succeeded", done
    assert done["result"]["rebooting"] is True
    assert calibration.read_text() == "curve: [1, 2]\n"
    assert "initial_duty_cycle=3" not in (unit.data_dir / "unit_config.ini").read_text()
    kept = unit.data_dir / done["result"]["previous_files"] / CALIBRATION
    assert kept.read_text() == "curve: changed\n"
    assert lifecycle.calls == ["reboot"]
    assert list((unit.data_dir / "uploads").iterdir()) == []


async def test_bad_archives_change_nothing(
    unit_client: httpx.AsyncClient, unit: UnitServices, lifecycle: RecordingLifecycle
) -> None:
    """It should refuse every unsafe or foreign archive with 400, writing nothing."""
    before = snapshot(unit.data_dir)
    ok_meta = {"pioreactor_export_metadata.json": metadata("pio01")}
    cases = {
        "not a zip": b"hello",
        "absolute path": make_zip({**ok_meta, "/etc/cron.d/x": b"x"}),
        "'..'": make_zip({**ok_meta, "calibrations/../../escape": b"x"}),
        "symbolic link": make_zip(ok_meta, symlink="config.ini"),
        "belongs to 'pio09'": make_zip(
            {"pioreactor_export_metadata.json": metadata("pio09"), "config.ini": b"x"}
        ),
        "no pioreactor_export_metadata.json": make_zip({"config.ini": b"x"}),
    }
    for fragment, content in cases.items():
        response = await upload(unit_client, content)
        assert response.status_code == 400, (fragment, response.text)
        assert fragment in response.json()["cause"], (fragment, response.json())
    missing = await unit_client.post("/unit_api/import_zipped_dot_pioreactor")
    assert missing.status_code == 400 and "archive" in missing.json()["cause"]
    assert snapshot(unit.data_dir) == before
    assert lifecycle.calls == []


async def test_cluster_backup_restores_the_units_folder(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should restore this unit's folder of a cluster backup, ignoring the others."""
    content = make_zip(
        {
            "pio01/pioreactor_export_metadata.json": metadata("pio01"),
            "pio01/calibrations/a.yaml": b"a",
            "pio02/pioreactor_export_metadata.json": metadata("pio02"),
            "pio02/calibrations/b.yaml": b"b",
        }
    )
    done = await finished(unit_client, unit, await upload(unit_client, content))
    assert done["result"]["restored_files"] == 1
    assert (unit.data_dir / "calibrations" / "a.yaml").read_bytes() == b"a"
    assert not (unit.data_dir / "calibrations" / "b.yaml").exists()


async def test_file_system_access_can_be_disabled(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should answer 403 to both while DISALLOW_UI_FILE_SYSTEM exists."""
    (unit.data_dir / "DISALLOW_UI_FILE_SYSTEM").touch()
    assert (await unit_client.get("/unit_api/zipped_dot_pioreactor")).status_code == 403
    assert (await upload(unit_client, make_zip({}))).status_code == 403
