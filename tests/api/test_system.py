"""Operations on whole units: blink, bioreactor values, capabilities, versions, power, repair,
clocks.

The cluster of these tests (``cluster`` fixture): experiments ``exp1`` and ``exp 2``; ``pio01``
(active, in exp1), ``pio02`` (inactive, in exp1) and ``pio03`` (active, in ``exp 2``). The
leader is not a worker.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from pioleader.bus import BusUnavailable, Payload, RecordingBus
from pioleader.bus.recording import PublishedMessage
from pioleader.services import Services
from tests.conftest import LEADER_PORT, UNIT_PORTS, add_worker, create_experiment, poll_task, settle
from tests.fakes import FakeUnits

PIO01, PIO02, PIO03 = UNIT_PORTS["pio01"], UNIT_PORTS["pio02"], UNIT_PORTS["pio03"]
ALL_UNIT_PORTS = [LEADER_PORT, PIO01, PIO02, PIO03]
UNITS = ["leader", "pio01", "pio02", "pio03"]


class UnavailableBus(RecordingBus):
    """A bus whose broker cannot be reached: every publish fails as MqttBus's does."""

    async def publish(
        self, topic: str, payload: Payload, *, qos: int = 1, retain: bool = False
    ) -> None:
        raise BusUnavailable("test: no broker")


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert body["error"] and body["cause"] and body["remediation"]
    return body


def assert_accepted_task(response: httpx.Response) -> None:
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"unit", "task_id", "result_url_path", "status"}
    assert body["unit"] == "leader"
    assert body["status"] == "accepted"


def requests(units: FakeUnits) -> list[tuple[int, str, str, Any]]:
    return [(sent.port, sent.method, sent.path, sent.body) for sent in units.sent]


def ok(unit: str, value: Any) -> dict[str, Any]:
    return {"ok": True, "unit": unit, "value": value}


def answer(body: Any, status: int = 200) -> Any:
    return lambda request: httpx.Response(status, json=body)


@pytest.fixture
async def cluster(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, bus: RecordingBus
) -> None:
    await create_experiment(client, "exp1")
    await create_experiment(client, "exp 2")
    for unit in ("pio01", "pio02", "pio03"):
        await add_worker(client, unit)
    for unit, experiment in (("pio01", "exp1"), ("pio02", "exp1"), ("pio03", "exp 2")):
        response = await client.put(
            f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
        )
        assert response.status_code == 200, response.text
    response = await client.put("/api/workers/pio02/is_active", json={"is_active": 0})
    assert response.status_code == 200, response.text
    await settle(services)
    units.sent.clear()
    bus.messages.clear()


async def assert_nothing_sent(services: Services, units: FakeUnits) -> None:
    await settle(services)
    assert units.sent == []


# -- POST /api/workers/{pioreactor_unit}/blink -------------------------------------------------


@pytest.mark.parametrize("unit", ["pio01", "$broadcast", "leader"])
async def test_blink_publishes_to_the_monitor(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    bus: RecordingBus,
    cluster: None,
    unit: str,
) -> None:
    """It should publish 1 to the unit's (or every unit's) monitor and answer 202 accepted."""
    response = await client.post(f"/api/workers/{unit}/blink")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    assert bus.messages == [
        PublishedMessage(
            topic=f"pioreactor/{unit}/$experiment/monitor/flicker_led_response_okay",
            payload=b"1",
            qos=1,
            retain=False,
        )
    ]
    await assert_nothing_sent(services, units)


@pytest.mark.parametrize("unit", ["pio99", "pio+", "pio%23"])
async def test_blink_unknown_unit_is_400(
    client: httpx.AsyncClient, bus: RecordingBus, cluster: None, unit: str
) -> None:
    """It should reject a unit that is not registered, and publish nothing."""
    body = assert_error(await client.post(f"/api/workers/{unit}/blink"), 400)
    assert body["error"].startswith("Unknown Pioreactor unit: ")
    assert bus.messages == []


class TestBrokerDown:
    """With the MQTT broker unreachable."""

    @pytest.fixture
    def bus(self) -> RecordingBus:
        return UnavailableBus()

    async def test_blink_is_503(self, client: httpx.AsyncClient, cluster: None) -> None:
        """It should answer 503 with the error body."""
        body = assert_error(await client.post("/api/workers/pio01/blink"), 503)
        assert body["error"] == "MQTT broker unavailable."


# -- PATCH /api/workers/{pioreactor_unit}/bioreactor/update/experiments/{experiment} -----------


async def test_bioreactor_update_on_named_worker(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should PATCH the values to the worker, as a task."""
    values = {"current_volume_ml": 12.5, "alt_media_fraction": 0.25, "efflux_tube_volume_ml": 14}
    response = await client.patch(
        "/api/workers/pio01/bioreactor/update/experiments/exp1", json={"values": values}
    )
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    assert final["result"] == {"pio01": ok("pio01", {})}
    assert requests(units) == [
        (
            PIO01,
            "PATCH",
            "/unit_api/bioreactor/experiments/exp1",
            {
                "values": {
                    "current_volume_ml": 12.5,
                    "alt_media_fraction": 0.25,
                    "efflux_tube_volume_ml": 14.0,
                }
            },
        )
    ]


async def test_bioreactor_update_broadcast_reaches_the_experiments_workers(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should reach every worker assigned to the experiment (inactive too), no one else."""
    units.handlers[PIO02] = answer(
        {
            "error": "Invalid bioreactor value.",
            "cause": "values.current_volume_ml: above the 20 ml capacity.",
            "remediation": "Send values within their bounds.",
            "status": 400,
        },
        400,
    )
    response = await client.patch(
        "/api/workers/$broadcast/bioreactor/update/experiments/exp1",
        json={"values": {"current_volume_ml": 30}},
    )
    final = await poll_task(client, services, response)
    assert final["result"]["pio01"] == ok("pio01", {})
    assert final["result"]["pio02"] == {
        "ok": False,
        "unit": "pio02",
        "error": {
            "kind": "http_error",
            "message": "Invalid bioreactor value.",
            "cause": "values.current_volume_ml: above the 20 ml capacity.",
            "remediation": "Send values within their bounds.",
        },
        "status_code": 400,
        "retryable": False,
    }
    assert sorted(sent.port for sent in units.sent) == [PIO01, PIO02]


async def test_bioreactor_update_quotes_the_experiment(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should put the experiment in the unit's path percent-encoded."""
    response = await client.patch(
        "/api/workers/$broadcast/bioreactor/update/experiments/exp 2",
        json={"values": {"cumulative_media_added_ml": 0}},
    )
    await poll_task(client, services, response)
    assert requests(units) == [
        (
            PIO03,
            "PATCH",
            "/unit_api/bioreactor/experiments/exp%202",
            {"values": {"cumulative_media_added_ml": 0.0}},
        )
    ]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"", "body", id="no-body"),
        pytest.param(b"{}", "values", id="missing-values"),
        pytest.param(b'{"values": {}}', "values", id="empty-values"),
        pytest.param(b'{"values": []}', "values", id="values-not-object"),
        pytest.param(b'{"values": {"volume": 1}}', "volume", id="unknown-variable"),
        pytest.param(b'{"values": {"current_volume_ml": -1}}', "current_volume_ml", id="neg"),
        pytest.param(b'{"values": {"current_volume_ml": "1"}}', "current_volume_ml", id="str"),
        pytest.param(b'{"values": {"current_volume_ml": true}}', "current_volume_ml", id="bool"),
        pytest.param(b'{"values": {"current_volume_ml": null}}', "current_volume_ml", id="null"),
        pytest.param(b'{"values": {"alt_media_fraction": 1.5}}', "alt_media_fraction", id="frac"),
        pytest.param(b'{"values": {"current_volume_ml": 1}, "x": 1}', "x", id="unknown-field"),
    ],
)
async def test_bioreactor_update_with_bad_body_is_400(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    content: bytes,
    field: str,
) -> None:
    """It should reject bad values, naming the field, and send nothing."""
    body = assert_error(
        await client.patch(
            "/api/workers/pio01/bioreactor/update/experiments/exp1",
            content=content,
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert body["error"] == "Invalid request body."
    assert field in body["cause"]
    await assert_nothing_sent(services, units)


async def test_bioreactor_fraction_of_one_is_fine(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should accept alt_media_fraction = 1 and 0 volumes."""
    response = await client.patch(
        "/api/workers/pio01/bioreactor/update/experiments/exp1",
        json={"values": {"alt_media_fraction": 1, "cumulative_waste_removed_ml": 0}},
    )
    await poll_task(client, services, response)
    assert [sent.body for sent in units.sent] == [
        {"values": {"alt_media_fraction": 1.0, "cumulative_waste_removed_ml": 0.0}}
    ]


@pytest.mark.parametrize(
    ("unit", "experiment", "status"),
    [
        pytest.param("pio99", "exp1", 400, id="unknown-worker"),
        pytest.param("leader", "exp1", 400, id="leader-not-a-worker"),
        pytest.param("pio01", "nope", 404, id="unknown-experiment"),
        pytest.param("$broadcast", "$experiment", 404, id="universal-experiment"),
    ],
)
async def test_bioreactor_update_bad_target(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    unit: str,
    experiment: str,
    status: int,
) -> None:
    """It should reject unknown workers (400) and experiments (404); send nothing."""
    body = assert_error(
        await client.patch(
            f"/api/workers/{unit}/bioreactor/update/experiments/{experiment}",
            json={"values": {"current_volume_ml": 10}},
        ),
        status,
    )
    assert (unit if status == 400 else experiment) in body["error"] + body["cause"]
    await assert_nothing_sent(services, units)


# -- GET capabilities, versions/app, system/utc_clock ------------------------------------------


@pytest.mark.parametrize(
    ("path", "unit_path"),
    [
        ("/api/units/{}/capabilities", "/unit_api/capabilities"),
        ("/api/workers/{}/capabilities", "/unit_api/capabilities"),
        ("/api/units/{}/versions/app", "/unit_api/versions/app"),
        ("/api/units/{}/system/utc_clock", "/unit_api/system/utc_clock"),
    ],
)
async def test_reads_broadcast_reach_every_unit(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    path: str,
    unit_path: str,
) -> None:
    """It should ask the leader and every worker (inactive and unassigned too), sorted."""
    units.down.add(PIO03)
    response = await client.get(path.format("$broadcast"))
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    assert list(final["result"]) == UNITS
    assert final["result"]["pio03"]["error"]["kind"] == "connection_error"
    assert all(final["result"][unit]["ok"] for unit in UNITS[:3])
    assert sorted(requests(units)) == sorted(
        (port, "GET", unit_path, None) for port in ALL_UNIT_PORTS
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/units/{}/capabilities",
        "/api/workers/{}/capabilities",
        "/api/units/{}/versions/app",
        "/api/units/{}/system/utc_clock",
        "/api/units/{}/system/reboot",
        "/api/units/{}/system/shutdown",
        "/api/units/{}/system/repair",
    ],
)
async def test_unit_operations_on_unknown_unit_are_400(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None, path: str
) -> None:
    """It should reject an unregistered unit and send nothing."""
    method = "GET" if path.endswith(("capabilities", "app", "utc_clock")) else "POST"
    body = assert_error(await client.request(method, path.format("pio99")), 400)
    assert body["error"] == "Unknown Pioreactor unit: pio99"
    await assert_nothing_sent(services, units)


async def test_capabilities_value_and_timeout(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should relay the unit's capabilities, allowing it 15 s to answer."""
    capability = {
        "job_name": "stirring",
        "automation_name": None,
        "help": "Start the stirring.",
        "arguments": [],
        "options": [{"name": "target_rpm", "type": "float"}],
        "published_settings": {"target_rpm": {"datatype": "float", "settable": True}},
        "cli_example": "pio run stirring --target-rpm 500",
    }
    timeouts: list[Any] = []

    def capabilities(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json=[capability])

    units.handlers[PIO01] = capabilities
    final = await poll_task(client, services, await client.get("/api/workers/pio01/capabilities"))
    assert final["result"] == {"pio01": ok("pio01", [capability])}
    assert timeouts == [{"connect": 15.0, "read": 15.0, "write": 15.0, "pool": 15.0}]


async def test_app_version_of_the_leader(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should ask the leader's own unit API for its version."""
    units.handlers[LEADER_PORT] = answer({"version": "0.1.0"})
    final = await poll_task(client, services, await client.get("/api/units/leader/versions/app"))
    assert final["result"] == {"leader": ok("leader", {"version": "0.1.0"})}
    assert requests(units) == [(LEADER_PORT, "GET", "/unit_api/versions/app", None)]


async def test_utc_clock_strips_the_units_status(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None
) -> None:
    """It should report the unit's clock without its status marker."""
    units.handlers[PIO02] = answer({"status": "success", "clock_time": "2026-01-01T12:00:00.000Z"})
    final = await poll_task(client, services, await client.get("/api/units/pio02/system/utc_clock"))
    assert final["result"] == {"pio02": ok("pio02", {"clock_time": "2026-01-01T12:00:00.000Z"})}
    assert requests(units) == [(PIO02, "GET", "/unit_api/system/utc_clock", None)]


# -- POST /api/units/{pioreactor_unit}/system/reboot|shutdown|repair ---------------------------


@pytest.mark.parametrize("action", ["reboot", "shutdown", "repair"])
async def test_power_and_repair_broadcast_include_the_leader(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None, action: str
) -> None:
    """It should POST the action to the leader and every worker."""
    units.down.add(PIO02)
    response = await client.post(f"/api/units/$broadcast/system/{action}")
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    assert list(final["result"]) == UNITS
    assert final["result"]["pio02"]["ok"] is False
    assert final["result"]["pio02"]["error"]["kind"] == "connection_error"
    assert final["result"]["leader"] == ok("leader", {})
    # Requests go out concurrently; the result keeps the units' order.
    assert sorted(requests(units)) == sorted(
        (port, "POST", f"/unit_api/system/{action}", None) for port in ALL_UNIT_PORTS
    )


@pytest.mark.parametrize("action", ["reboot", "shutdown", "repair"])
async def test_power_and_repair_on_named_unit(
    client: httpx.AsyncClient, services: Services, units: FakeUnits, cluster: None, action: str
) -> None:
    """It should POST the action to the named unit only, relaying its task result."""
    units.handlers[PIO03] = _task_then(
        {"unit": "pio03", "task_id": "t9", "result_url_path": "/unit_api/task_results/t9"},
        {"ok": True, "action": action},
    )
    final = await poll_task(
        client, services, await client.post(f"/api/units/pio03/system/{action}")
    )
    assert final["result"] == {"pio03": ok("pio03", {"ok": True, "action": action})}
    assert requests(units) == [
        (PIO03, "POST", f"/unit_api/system/{action}", None),
        (PIO03, "GET", "/unit_api/task_results/t9", None),
    ]


def _task_then(accepted: dict[str, Any], result: Any) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={**accepted, "status": "accepted"})
        return httpx.Response(
            200,
            json={
                "task_id": accepted["task_id"],
                "result_url_path": accepted["result_url_path"],
                "status": "succeeded",
                "result": result,
            },
        )

    return handle


async def test_power_routes_are_post_only(client: httpx.AsyncClient, cluster: None) -> None:
    """It should answer 405 to other methods, as the seed lists only POST."""
    for action in ("reboot", "shutdown", "repair"):
        assert_error(await client.patch(f"/api/units/pio01/system/{action}"), 405)
        assert_error(await client.get(f"/api/units/pio01/system/{action}"), 405)


# -- POST /api/system/utc_clock ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000Z"),
        ("2026-03-01T12:00:00.250+02:00", "2026-03-01T10:00:00.250Z"),
        ("2026-03-01T10:00:00+00:00", "2026-03-01T10:00:00.000Z"),
    ],
)
async def test_set_clock_reaches_every_worker(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    given: str,
    sent: str,
) -> None:
    """It should send every worker (not the leader) the time, in UTC."""
    units.down.add(PIO03)
    response = await client.post("/api/system/utc_clock", json={"utc_clock_time": given})
    assert_accepted_task(response)
    final = await poll_task(client, services, response)
    assert list(final["result"]) == ["pio01", "pio02", "pio03"]
    assert final["result"]["pio03"]["error"]["kind"] == "connection_error"
    assert final["result"]["pio01"] == ok("pio01", {})
    assert sorted(requests(units)) == [
        (port, "POST", "/unit_api/system/utc_clock", {"utc_clock_time": sent})
        for port in (PIO01, PIO02, PIO03)
    ]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param(b"", "body", id="no-body"),
        pytest.param(b"{}", "utc_clock_time", id="missing"),
        pytest.param(b'{"utc_clock_time": "2026-03-01T10:00:00"}', "utc_clock_time", id="naive"),
        pytest.param(b'{"utc_clock_time": "2026-03-01"}', "utc_clock_time", id="date-only"),
        pytest.param(b'{"utc_clock_time": "yesterday"}', "utc_clock_time", id="garbage"),
        pytest.param(b'{"utc_clock_time": 1767268800}', "utc_clock_time", id="number"),
        pytest.param(b'{"utc_clock_time": "2026-03-01T10:00:00Z", "x": 1}', "x", id="extra"),
    ],
)
async def test_set_clock_with_bad_body_is_400(
    client: httpx.AsyncClient,
    services: Services,
    units: FakeUnits,
    cluster: None,
    content: bytes,
    field: str,
) -> None:
    """It should reject anything but an ISO-8601 time with a time zone; send nothing."""
    body = assert_error(
        await client.post(
            "/api/system/utc_clock",
            content=content,
            headers={"content-type": "application/json"},
        ),
        400,
    )
    assert field in body["cause"]
    await assert_nothing_sent(services, units)


# -- Routes ------------------------------------------------------------------------------------

SYSTEM_ROUTES = {
    "blink_worker": {("POST", "/api/workers/{pioreactor_unit}/blink")},
    "update_bioreactor_on_unit": {
        ("PATCH", "/api/workers/{pioreactor_unit}/bioreactor/update/experiments/{experiment}")
    },
    "get_capabilities": {
        ("GET", "/api/units/{pioreactor_unit}/capabilities"),
        ("GET", "/api/workers/{pioreactor_unit}/capabilities"),
    },
    "get_app_versions": {("GET", "/api/units/{pioreactor_unit}/versions/app")},
    "reboot_unit": {("POST", "/api/units/{pioreactor_unit}/system/reboot")},
    "shutdown_unit": {("POST", "/api/units/{pioreactor_unit}/system/shutdown")},
    "repair_unit": {("POST", "/api/units/{pioreactor_unit}/system/repair")},
    "get_unit_utc_clock": {("GET", "/api/units/{pioreactor_unit}/system/utc_clock")},
    "set_system_utc_clock": {("POST", "/api/system/utc_clock")},
}


def test_routes_match_the_seed(app: FastAPI) -> None:
    """It should serve each handler on exactly the seed's methods and paths."""
    served: dict[str, set[tuple[str, str]]] = {}
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/"):
            continue  # the leader's own unit API has handlers of the same names
        for method, operation in operations.items():
            # FastAPI's summary is the handler's name, title-cased.
            handler = operation["summary"].lower().replace(" ", "_")
            served.setdefault(handler, set()).add((method.upper(), path))
    for handler, routes in SYSTEM_ROUTES.items():
        assert served.get(handler) == routes, handler
