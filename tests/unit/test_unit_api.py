"""The unit API of a worker, in-process, with a real broker: jobs, their MQTT contract,
settings, bioreactor values, system actions."""

from __future__ import annotations

import httpx
import pytest

from pioleader.broker import Mosquitto
from pioleader.unit.services import RecordingLifecycle, UnitServices
from tests.mqtt import Collector, publish, retained
from tests.unit.conftest import EXPERIMENT, finished, run_body

ROOT = f"pioreactor/pio01/{EXPERIMENT}/stirring"


async def start_stirring(client: httpx.AsyncClient, unit: UnitServices, **options: object) -> dict:
    response = await client.post("/unit_api/jobs/run/job_name/stirring", json=run_body(**options))
    return await finished(client, unit, response)


async def test_run_registers_publishes_and_stops(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """It should start a job, list it, publish it retained, and stop it to disconnected."""
    done = await start_stirring(unit_client, unit, target_rpm="350")
    assert done["status"] == "succeeded" and done["result"]["ok"] is True
    job_id = done["result"]["job_id"]

    running = (await unit_client.get("/unit_api/jobs/running")).json()
    assert [(j["job_id"], j["job_name"], j["experiment"], j["job_source"]) for j in running] == [
        (job_id, "stirring", EXPERIMENT, "test")
    ]
    assert await retained(broker.port, f"{ROOT}/$state") == "ready"
    assert await retained(broker.port, f"{ROOT}/target_rpm") == 350.0
    settings = (await unit_client.get("/unit_api/jobs/settings/job_name/stirring")).json()
    assert settings["settings"]["target_rpm"] == "350.0"
    assert settings["settings"]["$state"] == "ready"
    one = await unit_client.get("/unit_api/jobs/settings/job_name/stirring/setting/target_rpm")
    assert one.json() == {"target_rpm": "350.0"}

    stop = await unit_client.post("/unit_api/jobs/stop", json={"job_name": "stirring"})
    assert (await finished(unit_client, unit, stop))["result"] == {"stopped": ["stirring"]}
    assert await retained(broker.port, f"{ROOT}/$state") == "disconnected"
    assert (await unit_client.get("/unit_api/jobs/running")).json() == []
    # Non-persistent settings are cleared from the broker when the job ends.
    with pytest.raises(AssertionError):
        await retained(broker.port, f"{ROOT}/target_rpm", within=1.0)
    missing = await unit_client.get("/unit_api/jobs/settings/job_name/stirring")
    assert missing.status_code == 404 and missing.json()["error"] == "No settings found for job."


async def test_set_topics_with_type_checks(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """It should apply typed /set changes (also via $broadcast) and refuse bad or read-only ones."""
    await start_stirring(unit_client, unit)
    await publish(broker.port, f"{ROOT}/target_rpm/set", "640")
    assert await retained(broker.port, f"{ROOT}/target_rpm", until=lambda v: v == 640.0) == 640.0

    await publish(broker.port, f"pioreactor/$broadcast/{EXPERIMENT}/stirring/target_rpm/set", "410")
    assert await retained(broker.port, f"{ROOT}/target_rpm", until=lambda v: v == 410.0) == 410.0

    await publish(broker.port, f"{ROOT}/target_rpm/set", "fast please")
    await publish(broker.port, f"{ROOT}/measured_rpm/set", '{"measured_rpm": 1}')
    await publish(broker.port, f"{ROOT}/target_rpm/set", "420")  # a marker after the bad ones
    assert await retained(broker.port, f"{ROOT}/target_rpm", until=lambda v: v == 420.0) == 420.0
    settings = (await unit_client.get("/unit_api/jobs/settings/job_name/stirring")).json()
    assert settings["settings"]["target_rpm"] == "420.0"

    await publish(broker.port, f"{ROOT}/$state/set", "sleeping")
    assert (
        await retained(broker.port, f"{ROOT}/$state", until=lambda v: v == "sleeping") == "sleeping"
    )
    await publish(broker.port, f"{ROOT}/$state/set", "ready")
    assert await retained(broker.port, f"{ROOT}/$state", until=lambda v: v == "ready") == "ready"
    await publish(broker.port, f"{ROOT}/$state/set", "disconnected")
    assert await retained(broker.port, f"{ROOT}/$state", until=lambda v: v == "disconnected")


async def test_refusals(unit_client: httpx.AsyncClient, unit: UnitServices) -> None:
    """It should refuse unknown jobs, bad options, a missing experiment and a second start."""
    unknown = await unit_client.post("/unit_api/jobs/run/job_name/dancing", json=run_body())
    assert unknown.status_code == 404 and "stirring" in unknown.json()["remediation"]
    bad_name = await unit_client.post("/unit_api/jobs/run/job_name/Stir+ring", json=run_body())
    assert bad_name.status_code == 400
    option = await unit_client.post(
        "/unit_api/jobs/run/job_name/stirring", json={**run_body(), "options": {"speed": 1}}
    )
    assert option.status_code == 400 and "options.speed" in option.json()["cause"]
    no_experiment = await unit_client.post("/unit_api/jobs/run/job_name/stirring", json={})
    assert no_experiment.status_code == 400 and "EXPERIMENT" in no_experiment.json()["cause"]
    wrong_type = await unit_client.post(
        "/unit_api/jobs/run/job_name/stirring", json={**run_body(), "options": {"target_rpm": "x"}}
    )
    assert wrong_type.status_code == 400 and "target_rpm" in wrong_type.json()["cause"]

    assert (await start_stirring(unit_client, unit))["status"] == "succeeded"
    again = await unit_client.post("/unit_api/jobs/run/job_name/stirring", json=run_body())
    assert again.status_code == 409 and "already running" in again.json()["error"]
    no_filter = await unit_client.post("/unit_api/jobs/stop", json={})
    assert no_filter.status_code == 400


async def test_od_reading_publishes_readings(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """It should publish ods and odN with the angle of each configured channel."""
    response = await unit_client.post(
        "/unit_api/jobs/run/job_name/od_reading",
        json={"env": {"EXPERIMENT": EXPERIMENT}, "options": {"interval": 0.2}},
    )
    done = await finished(unit_client, unit, response)
    assert done["status"] == "succeeded", done.get("cause")
    ods = await retained(broker.port, f"pioreactor/pio01/{EXPERIMENT}/od_reading/ods")
    assert set(ods["ods"]) == {"2"}
    reading = ods["ods"]["2"]
    assert reading["angle"] == "90" and reading["channel"] == "2" and reading["od"] > 0
    assert reading["ir_led_intensity"] == 80.0
    od2 = await retained(broker.port, f"pioreactor/pio01/{EXPERIMENT}/od_reading/od2")
    assert od2["angle"] == "90"
    raw2 = await retained(broker.port, f"pioreactor/pio01/{EXPERIMENT}/od_reading/raw_od2")
    assert raw2["calibrated"] == 0 and raw2["channel"] == "2"


async def test_capabilities_versions_clock(
    unit_client: httpx.AsyncClient, unit: UnitServices
) -> None:
    """It should describe its jobs, its version and its clock."""
    capabilities = (await unit_client.get("/unit_api/capabilities")).json()
    stirring = next(c for c in capabilities if c["job_name"] == "stirring")
    assert stirring["options"][0]["name"] == "target_rpm"
    assert stirring["published_settings"]["target_rpm"]["settable"] is True
    assert (await unit_client.get("/unit_api/versions/app")).json()["version"]
    clock = (await unit_client.get("/unit_api/system/utc_clock")).json()
    assert clock["status"] == "success" and clock["clock_time"].endswith("Z")
    bad = await unit_client.post("/unit_api/system/utc_clock", json={"utc_clock_time": "noon"})
    assert bad.status_code == 400
    naive = await unit_client.post(
        "/unit_api/system/utc_clock", json={"utc_clock_time": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 400
    report = await finished(
        unit_client,
        unit,
        await unit_client.post(
            "/unit_api/system/utc_clock", json={"utc_clock_time": "2026-01-01T00:00:00Z"}
        ),
    )
    assert report["result"]["changed"] is False


async def test_bioreactor_values(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """It should serve defaults, store checked changes, publish them, refuse bad ones."""
    path = f"/unit_api/bioreactor/experiments/{EXPERIMENT}"
    defaults = (await unit_client.get(path)).json()["values"]
    assert defaults["current_volume_ml"] == 14.0 and defaults["alt_media_fraction"] == 0.0
    ok = await unit_client.patch(path, json={"values": {"current_volume_ml": 12.5}})
    assert ok.status_code == 200
    assert (await unit_client.get(path)).json()["values"]["current_volume_ml"] == 12.5
    topic = f"pioreactor/pio01/{EXPERIMENT}/bioreactor/current_volume_ml"
    assert await retained(broker.port, topic) == 12.5
    for bad in (
        {"alt_media_fraction": 1.5},
        {"current_volume_ml": -1},
        {"current_volume_ml": 41},  # over the 40 mL vessel
        {"volume": 3},
    ):
        response = await unit_client.patch(path, json={"values": bad})
        assert response.status_code == 400, bad
        assert next(iter(bad)) in response.json()["cause"]
    assert (await unit_client.get(path)).json()["values"]["current_volume_ml"] == 12.5


async def test_reboot_stops_jobs_then_restarts(
    unit_client: httpx.AsyncClient,
    unit: UnitServices,
    lifecycle: RecordingLifecycle,
    broker: Mosquitto,
) -> None:
    """It should answer, stop the jobs, then reboot; shutdown likewise."""
    await start_stirring(unit_client, unit)
    done = await finished(unit_client, unit, await unit_client.post("/unit_api/system/reboot"))
    assert done["result"] == {"ok": True, "action": "reboot"}
    assert lifecycle.calls == ["reboot"]
    assert await retained(broker.port, f"{ROOT}/$state") == "disconnected"
    await finished(unit_client, unit, await unit_client.post("/unit_api/system/shutdown"))
    assert lifecycle.calls == ["reboot", "shutdown"]
    repair = await finished(unit_client, unit, await unit_client.post("/unit_api/system/repair"))
    assert repair["result"]["data_dir_writable"] is True


async def test_stirring_dodges_od_readings(
    unit_client: httpx.AsyncClient, unit: UnitServices, broker: Mosquitto
) -> None:
    """With dodging enabled and od_reading running, the target should drop to the 'during'
    value around each reading and come back after."""
    body = {
        "env": {"EXPERIMENT": EXPERIMENT},
        "options": {"interval": 2.0},
    }
    od = await unit_client.post("/unit_api/jobs/run/job_name/od_reading", json=body)
    assert (await finished(unit_client, unit, od))["status"] == "succeeded"
    dodging = run_body(target_rpm=450)
    dodging["config_overrides"] += [
        ["stirring.config", "enable_dodging_od", "True"],
        ["stirring.config", "pre_delay_duration", "0.25"],
        ["stirring.config", "post_delay_duration", "0.25"],
        ["stirring.config", "target_rpm_outside_od_reading", "480"],
    ]
    async with Collector(broker.port, f"{ROOT}/target_rpm") as targets:
        started = await unit_client.post("/unit_api/jobs/run/job_name/stirring", json=dodging)
        assert (await finished(unit_client, unit, started))["status"] == "succeeded"
        dodging_now = await retained(
            broker.port, f"{ROOT}/currently_dodging_od", until=lambda v: v == "True"
        )
        assert dodging_now == "True"
        values = await targets.until(4, within=15)
    assert values[0] == 450.0  # the start, then dodging: 0 around readings, 480 between
    assert 0.0 in values and 480.0 in values[values.index(0.0) :]

    await publish(broker.port, f"{ROOT}/enable_dodging_od/set", "False")
    assert await retained(broker.port, f"{ROOT}/currently_dodging_od", until=lambda v: v == "False")
    assert await retained(broker.port, f"{ROOT}/target_rpm", until=lambda v: v == 480.0) == 480.0
