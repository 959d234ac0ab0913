"""API tests for /api/config: reads, checked writes, history, and the push to workers with an
honest per-worker answer (fake units at the HTTP edge)."""

from __future__ import annotations

import io
import json
import zipfile

import httpx

from pioleader.configuration.secrets import MASK
from pioleader.services import Services
from tests.conftest import UNIT_PORTS, add_worker
from tests.fakes import FakeUnits


def json_handler(body: object) -> object:
    return lambda request: httpx.Response(200, json=body)


async def shared_text(client: httpx.AsyncClient) -> str:
    response = await client.get("/api/config/shared")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_shared_config_read_masks_the_mqtt_password(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should serve config.ini as text with the password masked, since no api_key is set."""
    services.settings.config_files.set_shared_values({("mqtt", "password"): "s3cret"})
    text = await shared_text(client)
    assert "[stirring.config]" in text
    assert f"password={MASK}" in text and "s3cret" not in text


async def test_bad_shared_config_is_refused_and_nothing_written(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should answer 400 naming the line, and leave the file, history and workers alone."""
    await add_worker(client, "pio01")
    before = await shared_text(client)
    history = (await client.get("/api/config/shared/history")).json()
    units.sent.clear()
    code = before + "\n[mqtt]\nbroker_port=1\n"
    response = await client.patch("/api/config/shared", json={"code": code})
    assert response.status_code == 400
    body = response.json()
    assert body["error"].startswith("Duplicate section [mqtt] was found")
    assert f"line {len(before.splitlines()) + 2}" in body["cause"]
    assert await shared_text(client) == before
    assert (await client.get("/api/config/shared/history")).json() == history
    assert units.sent == []


async def test_shared_change_reaches_workers_and_says_who_missed_it(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should push to every worker, report an offline one as pending (never synced), keep
    the stored secret under the mask, and catch the offline worker up once it is back."""
    services.settings.config_files.set_shared_values({("mqtt", "password"): "s3cret"})
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    units.down.add(UNIT_PORTS["pio02"])
    units.sent.clear()
    code = (await shared_text(client)).replace("initial_target_rpm=500", "initial_target_rpm=321")

    response = await client.patch("/api/config/shared", json={"code": code})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["synced"] == ["pio01"]
    assert list(body["pending"]) == ["pio02"] and "Could not reach" in body["pending"]["pio02"]
    stored = services.settings.config_files.shared_path.read_text()
    assert "initial_target_rpm=321" in stored and "password=s3cret" in stored
    pushed = units.to(UNIT_PORTS["pio01"])
    assert [(s.method, s.path) for s in pushed] == [("PATCH", "/unit_api/config/shared")]
    assert pushed[0].body == {"code": stored}  # workers get the real secret, not the mask
    states = {s.pioreactor_unit: s for s in await services.config_sync.states()}
    assert states["pio01"].synced is True
    assert states["pio02"].synced is False and states["pio02"].last_error

    # Nothing to do while pio02 is still down; once back, it (and only it) gets the text.
    assert list(await services.config_sync.catch_up()) == ["pio02"]
    units.down.clear()
    units.sent.clear()
    assert await services.config_sync.catch_up() == {"pio02": None}
    assert [s.port for s in units.sent] == [UNIT_PORTS["pio02"]]
    assert units.sent[0].body == {"code": stored}
    states = await services.config_sync.states()
    assert all(state.synced for state in states) and len(states) == 2
    assert await services.config_sync.catch_up() == {}

    history = (await client.get("/api/config/shared/history")).json()
    assert [v["filename"] for v in history] == ["config.ini", "config.ini"]
    assert "initial_target_rpm=321" in history[0]["data"]
    assert "initial_target_rpm=500" in history[1]["data"]
    assert all("s3cret" not in version["data"] for version in history)


async def test_all_workers_synced_is_success(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should say success only when every worker acknowledged the text."""
    await add_worker(client, "pio01")
    code = await shared_text(client)
    response = await client.patch("/api/config/shared", json={"code": code + "\n# note\n"})
    assert response.json() == {"status": "success", "synced": ["pio01"], "pending": {}}


async def test_merged_config_of_every_unit_reports_failures_per_unit(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should render the leader locally, ask workers, and list a down worker in errors."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    units.handlers[UNIT_PORTS["pio01"]] = json_handler(
        {"stirring.config": {"initial_target_rpm": "400"}, "mqtt": {"password": "p"}}
    )
    units.down.add(UNIT_PORTS["pio02"])

    response = await client.get("/api/config/units/$broadcast")

    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["configs"]) == ["leader", "pio01"]
    assert body["configs"]["pio01"]["mqtt"]["password"] == MASK
    leader = body["configs"]["leader"]
    assert leader["PWM_reverse"]["stirring"] == "1"
    assert leader["cluster.addresses"]["leader"] == "127.0.0.1"
    assert body["errors"]["pio02"]["ok"] is False
    assert body["errors"]["pio02"]["error"]["kind"] == "connection_error"

    limited = await client.get("/api/config/units/$broadcast?unit=pio01&unit=leader")
    assert sorted(limited.json()["configs"]) == ["leader", "pio01"]
    assert limited.json()["errors"] == {}
    assert (await client.get("/api/config/units/$broadcast?unit=nope")).status_code == 400

    single = await client.get("/api/config/units/pio02")
    assert single.status_code == 502 and "pio02" in single.json()["cause"]
    unknown = await client.get("/api/config/units/nope")
    assert unknown.status_code == 400 and "nope" in unknown.json()["cause"]


async def test_unit_specific_config_of_leader_and_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should read and write the leader's file locally, a worker's through its unit API,
    keep every version, and refuse $broadcast and bad text."""
    await add_worker(client, "pio01")
    code = "[stirring.config]\ninitial_target_rpm=250\n"
    assert (
        await client.patch("/api/config/units/leader/specific", json={"code": code})
    ).json() == {"status": "success"}
    assert (await client.get("/api/config/units/leader/specific")).text == code

    units.handlers[UNIT_PORTS["pio01"]] = json_handler({"code": "[x]\na=1\n"})
    worker = await client.get("/api/config/units/pio01/specific")
    assert worker.text == "[x]\na=1\n"
    assert units.to(UNIT_PORTS["pio01"])[-1].path == "/unit_api/config/specific"

    del units.handlers[UNIT_PORTS["pio01"]]
    response = await client.patch("/api/config/units/pio01/specific", json={"code": code})
    assert response.status_code == 200, response.text
    assert units.to(UNIT_PORTS["pio01"])[-1].body == {"code": code}
    history = (await client.get("/api/config/units/pio01/specific/history")).json()
    assert [(v["filename"], v["data"]) for v in history] == [("unit_config.ini::pio01", code)]

    bad = await client.patch("/api/config/units/pio01/specific", json={"code": "[a]\nb\n"})
    assert bad.status_code == 400 and "unit_config.ini line 2" in bad.json()["cause"]
    assert len((await client.get("/api/config/units/pio01/specific/history")).json()) == 1
    for path in (
        "/api/config/units/$broadcast/specific",
        "/api/config/units/$broadcast/specific/history",
    ):
        assert (await client.get(path)).status_code == 400

    units.down.add(UNIT_PORTS["pio01"])
    offline = await client.patch("/api/config/units/pio01/specific", json={"code": code + "#\n"})
    assert offline.status_code == 502
    assert len((await client.get("/api/config/units/pio01/specific/history")).json()) == 1


async def test_zipped_configs(
    client: httpx.AsyncClient, services: Services, units: FakeUnits
) -> None:
    """It should zip the shared file (secrets masked), the leader's and each worker's own file,
    and list a worker that did not answer in metadata.json instead of failing."""
    await add_worker(client, "pio01")
    await add_worker(client, "pio02")
    services.settings.config_files.set_shared_values({("mqtt", "password"): "s3cret"})
    units.handlers[UNIT_PORTS["pio01"]] = json_handler({"code": "[x]\na=1\n"})
    units.down.add(UNIT_PORTS["pio02"])

    response = await client.get("/api/config/zipped")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "config.ini",
        "config_leader.ini",
        "config_pio01.ini",
        "metadata.json",
    ]
    shared = archive.read("config.ini").decode()
    assert "[mqtt]" in shared and "s3cret" not in shared and MASK in shared
    assert archive.read("config_pio01.ini").decode() == "[x]\na=1\n"
    metadata = json.loads(archive.read("metadata.json"))
    assert metadata["units"] == ["leader", "pio01"]
    assert list(metadata["errors"]) == ["pio02"]
