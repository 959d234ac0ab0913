"""Plugin endpoints of the leader: fan-out to units, $broadcast, and the leader's refusals."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from pioleader.services import Services
from tests.api.test_system import ALL_UNIT_PORTS, UNITS, assert_error, ok, requests
from tests.conftest import LEADER_PORT, UNIT_PORTS, add_worker, poll_task
from tests.fakes import FakeUnits
from tests.plugin_files import build_wheel

BODY = {"args": ["hello-plugin"], "options": {"source": "/data/plugins/hello.whl"}, "env": {}}


async def _cluster(client: httpx.AsyncClient) -> None:
    for unit in UNIT_PORTS:
        await add_worker(client, unit)


async def test_install_and_uninstall_fan_out(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should send the body to every unit for $broadcast, or to the one unit, by POST or
    PATCH, and key the task's result by unit."""
    await _cluster(client)
    done = await poll_task(
        client, services, await client.post("/api/units/$broadcast/plugins/install", json=BODY)
    )
    assert done["result"] == {unit: ok(unit, {}) for unit in UNITS}
    assert sorted(requests(units)) == [
        (port, "POST", "/unit_api/plugins/install", BODY) for port in sorted(ALL_UNIT_PORTS)
    ]
    units.sent.clear()
    done = await poll_task(
        client,
        services,
        await client.patch("/api/units/pio02/plugins/uninstall", json={"args": ["hello-plugin"]}),
    )
    assert list(done["result"]) == ["pio02"]
    assert requests(units) == [
        (
            UNIT_PORTS["pio02"],
            "POST",
            "/unit_api/plugins/uninstall",
            {"args": ["hello-plugin"], "options": {}, "env": {}},
        )
    ]


async def test_listing(client: httpx.AsyncClient, services: Services, units: FakeUnits) -> None:
    """It should list each unit's plugins, sorted by unit."""
    await _cluster(client)
    plugin = {
        "name": "p",
        "version": "1",
        "description": "",
        "homepage": "",
        "author": "",
        "source": "pip",
    }
    units.handlers[UNIT_PORTS["pio01"]] = lambda request: httpx.Response(200, json=[plugin])
    done = await poll_task(
        client, services, await client.get("/api/units/$broadcast/plugins/installed")
    )
    assert list(done["result"]) == sorted(UNITS)
    assert done["result"]["pio01"] == ok("pio01", [plugin])
    one = await poll_task(client, services, await client.get("/api/units/leader/plugins/installed"))
    assert list(one["result"]) == ["leader"]
    assert units.to(LEADER_PORT)[-1].path == "/unit_api/plugins/installed"


async def test_leader_refusals(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should refuse, before any unit is asked: unknown units, bad bodies, remote sources,
    and every install while the leader disallows them."""
    await _cluster(client)
    assert (
        "Unknown Pioreactor unit"
        in assert_error(await client.post("/api/units/pio99/plugins/install", json=BODY), 400)[
            "error"
        ]
    )
    for body, fragment in [
        ({"args": []}, "args"),
        ({"args": ["a", "b"]}, "args"),
        ({"args": ["a"], "options": {"source": 3}}, "options.source"),
        ({"args": ["a;rm -rf"]}, "args[0]"),
    ]:
        error = assert_error(await client.post("/api/units/pio01/plugins/install", json=body), 400)
        assert fragment in error["cause"], error
    remote = {"args": ["x"], "options": {"source": "https://example.org/x.whl"}}
    assert (
        "remote source"
        in assert_error(
            await client.post("/api/units/$broadcast/plugins/install", json=remote), 403
        )["cause"]
    )

    (services.settings.data_dir / "DISALLOW_UI_INSTALLS").touch()
    error = assert_error(await client.post("/api/units/$broadcast/plugins/install", json=BODY), 403)
    assert "disabled on leader" in error["cause"]
    assert_error(await client.post("/api/units/pio01/plugins/uninstall", json=BODY), 403)
    assert units.sent == []


async def test_install_from_leader_usb(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, tmp_path: Path
) -> None:
    """It should read the file from the leader's mounted drive and send it to every unit; and
    refuse files that are missing, elsewhere, not plugins, or with no drive mounted."""
    await _cluster(client)
    drive = services.settings.data_dir / "usb_drive"
    wheel = build_wheel(drive / "plugins")
    (drive / "notes.txt").write_text("hi")
    (tmp_path / "outside.py").write_text("")
    url = "/api/units/$broadcast/plugins/install-from-leader-usb"
    body = {"filepath": "plugins/" + wheel.name}
    assert (
        "No USB drive is mounted" in assert_error(await client.post(url, json=body), 409)["cause"]
    )

    await poll_task(client, services, await client.post("/unit_api/usb/mount"))
    for filepath, status in [
        ("plugins/missing.whl", 404),
        ("../../outside.py", 400),
        (str(tmp_path / "outside.py"), 400),
        ("notes.txt", 400),
    ]:
        assert_error(await client.post(url, json={"filepath": filepath}), status)
    assert units.sent == []

    done = await poll_task(client, services, await client.patch(url, json=body))
    assert list(done["result"]) == UNITS
    expected = {
        "filename": wheel.name,
        "content_base64": base64.b64encode(wheel.read_bytes()).decode(),
    }
    assert sorted(requests(units)) == [
        (port, "POST", "/unit_api/plugins/install-file", expected)
        for port in sorted(ALL_UNIT_PORTS)
    ]


async def test_a_plugin_adds_a_dataset_to_the_leader(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should list the dataset definition that a plugin installed on the leader ships."""
    definition = (
        b"dataset_name: hello_readings\ndisplay_name: Hello readings\ndescription: From a plugin.\n"
        b"table: od_readings\nhas_experiment: true\nhas_unit: true\n"
    )
    wheel = build_wheel(
        services.unit.plugins.folder, extra={"exportable_datasets/hello.yaml": definition}
    )
    accepted = await client.post(
        "/unit_api/plugins/install",
        json={"args": ["hello-plugin"], "options": {"source": str(wheel)}},
    )
    assert (await poll_task(client, services, accepted))["result"] is True
    listed = (await client.get("/api/datasets/exportable")).json()
    assert "hello_readings" in [d["dataset_name"] for d in listed]
