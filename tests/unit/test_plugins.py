"""The unit API's plugins: pip installs into the unit's plugin environment, the listing, the
jobs plugins add, and the refusals."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.unit.jobs.led import LedAutomation
from pioleader.unit.services import UnitServices
from tests.mqtt import retained
from tests.plugin_files import build_wheel, write_automation_plugin, write_file_plugin
from tests.unit.conftest import EXPERIMENT, assert_refused, finished, run_job


def install_body(source: str, name: str = "hello-plugin") -> dict:
    return {"args": [name], "options": {"source": source}, "env": {}}


async def test_install_run_and_uninstall_a_wheel(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """It should pip-install a local wheel, list it, run its job, then remove it entirely."""
    wheel = build_wheel(unit.plugins.folder)
    accepted = await unit_client.post("/unit_api/plugins/install", json=install_body(str(wheel)))
    done = await finished(unit_client, unit, accepted)
    assert done["status"] == "succeeded", done
    assert done["result"] is True

    listed = (await unit_client.get("/unit_api/plugins/installed")).json()
    assert listed == [
        {
            "name": "hello-plugin",
            "version": "0.1.0",
            "description": "A plugin built by a test.",
            "homepage": "https://example.org/hello",
            "author": "Test Lab",
            "source": "pip",
        }
    ]
    capabilities = (await unit_client.get("/unit_api/capabilities")).json()
    assert "greeting" in [c["job_name"] for c in capabilities]

    run = await unit_client.post(
        "/unit_api/jobs/run/job_name/greeting",
        json={"env": {"EXPERIMENT": EXPERIMENT, "JOB_SOURCE": "test"}},
    )
    assert (await finished(unit_client, unit, run))["result"]["ok"] is True
    topic = f"pioreactor/pio01/{EXPERIMENT}/greeting/greeting"
    assert await retained(broker.port, topic) == "hello from 0.1.0"
    stop = await unit_client.post("/unit_api/jobs/stop", json={"job_name": "greeting"})
    assert (await finished(unit_client, unit, stop))["result"] == {"stopped": ["greeting"]}

    removed = await unit_client.post("/unit_api/plugins/uninstall", json={"args": ["Hello_Plugin"]})
    assert (await finished(unit_client, unit, removed))["result"] is True
    assert (await unit_client.get("/unit_api/plugins/installed")).json() == []
    assert "greeting" not in unit.jobs.catalog
    assert list(unit.plugins.site.iterdir()) == []
    gone = await unit_client.post(
        "/unit_api/jobs/run/job_name/greeting", json={"env": {"EXPERIMENT": EXPERIMENT}}
    )
    assert gone.status_code == 404


async def test_single_file_plugin_adds_a_job(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should list a .py file of the plugins folder and add its job; uninstall deletes it."""
    path = write_file_plugin(unit.plugins.folder, "waver", "waving")
    listed = (await unit_client.get("/unit_api/plugins/installed")).json()
    assert [(p["name"], p["version"], p["source"]) for p in listed] == [
        ("waver", "1.2.3", "plugins/waver.py")
    ]
    assert "waving" in unit.jobs.catalog
    removed = await unit_client.post("/unit_api/plugins/uninstall", json={"args": ["waver"]})
    assert (await finished(unit_client, unit, removed))["result"] is True
    assert not path.exists()
    assert "waving" not in unit.jobs.catalog


async def test_a_failed_install_is_a_failed_task(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should report pip's failure (a broken wheel) as a failed task, installing nothing."""
    broken = unit.plugins.folder / "broken-0.1-py3-none-any.whl"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"not a zip")
    accepted = await unit_client.post(
        "/unit_api/plugins/install", json=install_body(str(broken), "broken")
    )
    done = await finished(unit_client, unit, accepted)
    assert done["status"] == "failed"
    assert done["error"] == "Installing broken failed."
    assert "pip exited with" in done["cause"]
    assert (await unit_client.get("/unit_api/plugins/installed")).json() == []


async def test_refusals(unit_client: httpx.AsyncClient, unit: UnitServices) -> None:
    """It should refuse bad names, remote or outside sources, unknown plugins, and installs
    when they are disabled, each with the field at fault."""
    cases = [
        ({"args": ["a", "b"]}, 400, "args"),
        ({"args": ["../evil"]}, 400, "args[0]"),
        ({"args": ["x"], "options": {"color": "red"}}, 400, "options.color"),
        (install_body("https://evil.example/x.whl", "x"), 403, "remote source"),
        (install_body("git+https://evil.example/x", "x"), 403, "remote source"),
        (install_body("/etc/passwd", "x"), 403, "outside the folders"),
        (install_body(str(unit.plugins.folder / ".." / ".." / "x.whl"), "x"), 403, "outside"),
        (install_body("relative/x.whl", "x"), 400, "absolute path"),
    ]
    for body, status, fragment in cases:
        response = await unit_client.post("/unit_api/plugins/install", json=body)
        assert response.status_code == status, (body, response.text)
        assert fragment in response.json()["cause"], (body, response.json())

    missing = await unit_client.post("/unit_api/plugins/uninstall", json={"args": ["nothing"]})
    assert missing.status_code == 404

    (unit.data_dir / "DISALLOW_UI_INSTALLS").touch()
    wheel = build_wheel(unit.plugins.folder)
    disabled = await unit_client.post("/unit_api/plugins/install", json=install_body(str(wheel)))
    assert disabled.status_code == 403
    assert "disabled on pio01" in disabled.json()["cause"]
    (unit.data_dir / "DISALLOW_UI_INSTALLS").unlink()
    unit.config_files.unit_path.write_text("[pioleader]\nallow_plugin_installs=false\n")
    disabled = await unit_client.post("/unit_api/plugins/install", json=install_body(str(wheel)))
    assert disabled.status_code == 403
    assert await unit.tasks.status("x", unit.clock.now()) is None
    assert (await unit_client.get("/unit_api/plugins/installed")).json() == []


async def test_install_a_file_sent_by_the_leader(
    unit_client: httpx.AsyncClient, unit: UnitServices, tmp_path: Path
) -> None:
    """It should install a wheel or place a .py file sent base64-encoded, and refuse bad ones."""
    wheel = build_wheel(tmp_path)
    encoded = base64.b64encode(wheel.read_bytes()).decode()
    sent = await unit_client.post(
        "/unit_api/plugins/install-file",
        json={"filename": wheel.name, "content_base64": encoded},
    )
    assert (await finished(unit_client, unit, sent))["result"] is True
    assert "greeting" in unit.jobs.catalog
    source = base64.b64encode(b"__plugin_version__ = '2.0'\n").decode()
    sent = await unit_client.post(
        "/unit_api/plugins/install-file", json={"filename": "tiny.py", "content_base64": source}
    )
    assert (await finished(unit_client, unit, sent))["result"] is True
    listed = (await unit_client.get("/unit_api/plugins/installed")).json()
    assert [(p["name"], p["version"]) for p in listed] == [
        ("tiny", "2.0"),
        ("hello-plugin", "0.1.0"),
    ]

    for body in [
        {"filename": "../x.py", "content_base64": source},
        {"filename": "x.sh", "content_base64": source},
        {"filename": "x.py", "content_base64": "%%%"},
    ]:
        response = await unit_client.post("/unit_api/plugins/install-file", json=body)
        assert response.status_code == 400, body


async def test_plugins_add_descriptors(unit_client: httpx.AsyncClient, unit: UnitServices) -> None:
    """It should describe the jobs of an installed plugin package (its ui/ folder) and of the
    plugins folder (plugins/ui/)."""
    descriptor = (
        b"display_name: Greeting\njob_name: greeting\ndisplay: true\nsource: hello-plugin\n"
        b"description: Says hello.\npublished_settings: []\n"
    )
    wheel = build_wheel(unit.plugins.folder, extra={"ui/jobs/greeting.yaml": descriptor})
    accepted = await unit_client.post("/unit_api/plugins/install", json=install_body(str(wheel)))
    assert (await finished(unit_client, unit, accepted))["result"] is True
    folder = unit.plugins.folder / "ui" / "jobs"
    folder.mkdir(parents=True)
    (folder / "waving.yaml").write_bytes(descriptor.replace(b"greeting", b"waving"))
    described = (await unit_client.get("/unit_api/jobs/descriptors")).json()
    names = [d["job_name"] for d in described]
    assert "greeting" in names and "waving" in names


async def test_single_file_plugin_adds_an_automation(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    broker: Mosquitto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It should offer a plugin's LED automation in the capabilities and run it through
    led_automation, keep the built-in when a plugin reuses its name, skip an incomplete one,
    and still refuse unknown names; removing the plugin removes the automation."""
    path = write_automation_plugin(unit.plugins.folder)
    with caplog.at_level(logging.WARNING, "pioleader.plugins"):
        await unit.reload_plugins()
    assert [r.getMessage() for r in caplog.records] == [
        "plugin beacon: led_automation 'silent' is already defined; skipped",
        "plugin beacon: led_automation 'sketch' needs string display_name and description and "
        "a dict of Field as fields; skipped",
    ]
    capabilities = (await unit_client.get("/unit_api/capabilities")).json()
    led = {c["automation_name"]: c for c in capabilities if c["job_name"] == "led_automation"}
    assert set(led) == {"beacon", "light_dark_cycle", "silent"}
    assert led["silent"]["help"] == "Leave the LEDs as they are."
    assert [o["name"] for o in led["beacon"]["options"]] == ["automation_name", "brightness"]

    await assert_refused(unit_client, "led_automation", {"automation_name": "lighthouse"}, "beacon")
    done = await run_job(
        unit_client, unit, "led_automation", automation_name="beacon", brightness=7
    )
    assert done["status"] == "succeeded", done
    topic = f"pioreactor/pio01/{EXPERIMENT}/led_automation"
    assert await retained(broker.port, f"{topic}/automation_name") == "beacon"
    event = await retained(broker.port, f"{topic}/latest_event")
    assert event == {"event_name": "Beaconed", "message": "brightness 7.0", "data": {}}
    stop = await unit_client.post("/unit_api/jobs/stop", json={"job_name": "led_automation"})
    assert (await finished(unit_client, unit, stop))["result"] == {"stopped": ["led_automation"]}

    path.unlink()
    await unit.reload_plugins()
    await assert_refused(unit_client, "led_automation", {"automation_name": "beacon"}, "beacon")
    # Other units in this process never saw it: the built-in job class is untouched.
    assert "beacon" not in LedAutomation.automations
