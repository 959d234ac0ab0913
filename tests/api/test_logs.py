"""Logs: the filters, windows and pages of every log GET, and publishing a new entry."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import pytest

from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock, format_timestamp
from pioleader.services import Services
from tests.conftest import START, add_worker, create_experiment, settle

EXP = "exp1"
SYSTEM = "$experiment"


def ago(seconds: float) -> str:
    return format_timestamp(START - timedelta(seconds=seconds))


def log(
    seconds_ago: float,
    *,
    unit: str = "pio01",
    experiment: str = EXP,
    level: str = "INFO",
    message: str = "m",
    task: str | None = "stirring",
    source: str = "app",
) -> dict[str, Any]:
    return {
        "timestamp": ago(seconds_ago),
        "level": level,
        "pioreactor_unit": unit,
        "message": message,
        "task": task,
        "source": source,
        "experiment": experiment,
    }


async def insert_logs(services: Services, rows: list[dict[str, Any]]) -> None:
    def write(connection: sqlite3.Connection) -> None:
        connection.executemany(
            "INSERT INTO logs (timestamp, level, pioreactor_unit, message, task, source,"
            " experiment) VALUES (:timestamp, :level, :pioreactor_unit, :message, :task,"
            " :source, :experiment)",
            rows,
        )

    await services.db.write(write)


def messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["message"] for row in response.json()]


# -- rows and levels ----------------------------------------------------------------------------


async def test_rows_have_every_field_newest_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should return timestamp, level, unit, message, task, source and experiment, newest
    first."""
    await insert_logs(
        services,
        [log(20, message="older", task=None), log(10, message="newer", level="WARNING")],
    )
    response = await client.get(f"/api/experiments/{EXP}/logs")
    assert response.status_code == 200
    assert response.json() == [
        {
            "timestamp": "2026-01-01T11:59:50.000Z",
            "level": "WARNING",
            "pioreactor_unit": "pio01",
            "message": "newer",
            "task": "stirring",
            "source": "app",
            "experiment": EXP,
        },
        {
            "timestamp": "2026-01-01T11:59:40.000Z",
            "level": "INFO",
            "pioreactor_unit": "pio01",
            "message": "older",
            "task": None,
            "source": "app",
            "experiment": EXP,
        },
    ]


LEVELS = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]


@pytest.mark.parametrize(
    ("min_level", "shown"),
    [
        (None, ["CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO"]),
        ("debug", ["CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"]),
        ("Info", ["CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO"]),
        ("NOTICE", ["CRITICAL", "ERROR", "WARNING", "NOTICE"]),
        ("warning", ["CRITICAL", "ERROR", "WARNING"]),
        ("ERROR", ["CRITICAL", "ERROR"]),
        ("critical", ["CRITICAL"]),
    ],
)
async def test_min_level(
    client: httpx.AsyncClient, services: Services, min_level: str | None, shown: list[str]
) -> None:
    """It should show min_level and everything more severe, case-insensitively."""
    await insert_logs(
        services,
        [log(100 - i, level=level, message=level) for i, level in enumerate(LEVELS)],
    )
    params = {} if min_level is None else {"min_level": min_level}
    for path in ("/api/logs", f"/api/experiments/{EXP}/logs", "/api/units/pio01/logs"):
        assert messages(await client.get(path, params=params)) == shown, path


@pytest.mark.parametrize(
    "path",
    [
        "/api/logs",
        f"/api/experiments/{EXP}/logs",
        f"/api/experiments/{EXP}/recent_logs",
        f"/api/workers/pio01/experiments/{EXP}/logs",
        f"/api/workers/pio01/experiments/{EXP}/recent_logs",
        "/api/units/pio01/logs",
        "/api/units/pio01/system_logs",
    ],
)
async def test_unknown_min_level_is_400(client: httpx.AsyncClient, path: str) -> None:
    """It should refuse a level it does not know rather than silently use INFO."""
    response = await client.get(path, params={"min_level": "verbose"})
    assert response.status_code == 400
    assert "min_level" in response.json()["cause"]


@pytest.mark.parametrize("skip", ["-1", "abc", "1.5"])
async def test_bad_skip_is_400(client: httpx.AsyncClient, skip: str) -> None:
    """It should answer 400 naming skip for anything but a non-negative integer."""
    for path in ("/api/logs", f"/api/experiments/{EXP}/logs", "/api/units/pio01/system_logs"):
        response = await client.get(path, params={"skip": skip})
        assert response.status_code == 400, path
        assert "skip" in response.json()["cause"]


async def test_pages_of_100(client: httpx.AsyncClient, services: Services) -> None:
    """It should return 100 rows per page, skip rows as asked, and nothing past the end."""
    await insert_logs(services, [log(1000 - i, message=f"m{i:03d}") for i in range(150)])
    first = messages(await client.get("/api/logs"))
    assert first == [f"m{i:03d}" for i in range(149, 49, -1)]
    second = messages(await client.get("/api/logs", params={"skip": 100}))
    assert second == [f"m{i:03d}" for i in range(49, -1, -1)]
    assert messages(await client.get("/api/logs", params={"skip": 500})) == []


# -- filters of each endpoint -------------------------------------------------------------------


@pytest.fixture
async def mixed(services: Services) -> None:
    """Logs of two experiments, the system, two units and broadcast."""
    await insert_logs(
        services,
        [
            log(60, message="exp1 pio01"),
            log(50, unit="pio02", message="exp1 pio02"),
            log(40, unit="$broadcast", message="exp1 broadcast"),
            log(30, experiment="exp2", message="exp2 pio01"),
            log(20, experiment=SYSTEM, message="system pio01"),
            log(10, experiment=SYSTEM, unit="pio02", message="system pio02"),
            log(5, experiment=SYSTEM, unit="$broadcast", message="system broadcast"),
        ],
    )


async def test_filters(client: httpx.AsyncClient, mixed: None) -> None:
    """It should filter each endpoint by experiment and unit as §3.5's table says."""
    assert messages(await client.get("/api/logs")) == [
        "system broadcast",
        "system pio02",
        "system pio01",
        "exp2 pio01",
        "exp1 broadcast",
        "exp1 pio02",
        "exp1 pio01",
    ]
    assert messages(await client.get(f"/api/experiments/{EXP}/logs")) == [
        "exp1 broadcast",
        "exp1 pio02",
        "exp1 pio01",
    ]
    assert messages(await client.get("/api/units/pio01/logs")) == [
        "system broadcast",
        "system pio01",
        "exp2 pio01",
        "exp1 broadcast",
        "exp1 pio01",
    ]
    assert messages(await client.get("/api/units/pio01/system_logs")) == [
        "system broadcast",
        "system pio01",
    ]


async def test_unit_in_experiment_follows_assignment_intervals(
    client: httpx.AsyncClient, services: Services
) -> None:
    """It should keep the unit's (and broadcast) logs stamped while it was assigned, up to
    5 seconds after it left, and in an interval still open."""

    def history(connection: sqlite3.Connection) -> None:
        connection.executemany(
            "INSERT INTO experiment_worker_assignments_history"
            " (pioreactor_unit, experiment, assigned_at, unassigned_at) VALUES (?, ?, ?, ?)",
            [
                ("pio01", EXP, ago(3600), ago(1800)),
                ("pio01", EXP, ago(600), None),
                ("pio01", "exp2", ago(1800), ago(600)),
            ],
        )

    await services.db.write(history)
    await insert_logs(
        services,
        [
            log(3601, message="before"),
            log(3600, message="at assignment"),
            log(2000, unit="$broadcast", message="broadcast inside"),
            log(2000, unit="pio02", message="other unit"),
            log(1796, message="4 s after leaving"),
            log(1794, message="6 s after leaving"),
            log(1000, experiment="exp2", message="other experiment"),
            log(300, message="open interval"),
            log(0, message="now"),
        ],
    )
    path = f"/api/workers/pio01/experiments/{EXP}/logs"
    assert messages(await client.get(path)) == [
        "now",
        "open interval",
        "4 s after leaving",
        "broadcast inside",
        "at assignment",
    ]
    assert messages(await client.get(path, params={"skip": 3})) == [
        "broadcast inside",
        "at assignment",
    ]
    assert messages(await client.get(f"/api/workers/pio02/experiments/{EXP}/logs")) == []


async def test_recent_logs_window_and_limit(
    client: httpx.AsyncClient, services: Services, clock: ManualClock
) -> None:
    """It should return at most 50 logs of the last 24 hours, none from before the
    experiment was created, and the last 24 hours when the experiment is unknown."""
    await insert_logs(
        services, [log(-10, message="after creation"), log(10, message="before creation")]
    )
    await create_experiment(client, EXP)  # created at START
    clock.advance(timedelta(hours=2))  # the window starts at creation, not 24 h ago
    assert messages(await client.get(f"/api/experiments/{EXP}/recent_logs")) == ["after creation"]
    # 30 hours later: the last 24 hours, 50 at most.
    await insert_logs(services, [log(-3600 * 30 - i, message=f"new{i:02d}") for i in range(60)])
    clock.advance(timedelta(hours=29))
    recent = messages(await client.get(f"/api/experiments/{EXP}/recent_logs"))
    assert recent == [f"new{i:02d}" for i in range(59, 9, -1)]

    # Unknown experiment: just the last 24 hours.
    await insert_logs(services, [log(-3600 * 30, experiment="ghost", message="ghost log")])
    assert messages(await client.get("/api/experiments/ghost/recent_logs")) == ["ghost log"]
    clock.advance(timedelta(hours=24))
    assert messages(await client.get("/api/experiments/ghost/recent_logs")) == []


async def test_recent_logs_of_unit(
    client: httpx.AsyncClient, services: Services, clock: ManualClock, mixed: None
) -> None:
    """It should include the unit's and broadcast logs of the experiment and of the system,
    within the same 24-hour window."""
    await insert_logs(services, [log(25 * 3600, message="too old")])
    assert messages(await client.get(f"/api/workers/pio01/experiments/{EXP}/recent_logs")) == [
        "system broadcast",
        "system pio01",
        "exp1 broadcast",
        "exp1 pio01",
    ]
    assert (
        messages(
            await client.get(
                f"/api/workers/pio01/experiments/{EXP}/recent_logs", params={"min_level": "error"}
            )
        )
        == []
    )


# -- POST ---------------------------------------------------------------------------------------

NEW_LOG = {
    "message": "  hello there \n",
    "level": "warning",
    "source": "app",
    "timestamp": "2026-01-01T12:00:00.000Z",
}


async def test_post_publishes_the_entry(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should publish one QoS-2 message to the log topic and answer 202 accepted."""
    await add_worker(client, "pio01")
    await settle(services)
    bus.messages.clear()
    for prefix in ("/api/units", "/api/workers"):
        response = await client.post(f"{prefix}/pio01/experiments/{EXP}/logs", json=NEW_LOG)
        assert response.status_code == 202, response.text
        assert response.json() == {"status": "accepted"}
    assert [(m.topic, m.qos, m.retain, m.json()) for m in bus.messages] == [
        (
            f"pioreactor/pio01/{EXP}/logs/ui/warning",
            2,
            False,
            {
                "message": "hello there",
                "task": "",
                "source": "app",
                "level": "WARNING",
                "timestamp": "2026-01-01T12:00:00.000Z",
            },
        )
    ] * 2


async def test_post_with_task_and_source_topic_to_leader(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should use source_ as the topic's level and accept the leader as a unit."""
    await settle(services)
    bus.messages.clear()
    response = await client.post(
        f"/api/units/leader/experiments/{SYSTEM}/logs",
        json={
            **NEW_LOG,
            "task": "od_reading",
            "source_": "cli",
            "timestamp": "2026-01-01T13:00:00+01:00",
        },
    )
    assert response.status_code == 202, response.text
    assert [(m.topic, m.json()) for m in bus.messages] == [
        (
            f"pioreactor/leader/{SYSTEM}/logs/cli/warning",
            {
                "message": "hello there",
                "task": "od_reading",
                "source": "app",
                "level": "WARNING",
                "timestamp": "2026-01-01T13:00:00+01:00",
            },
        )
    ]


async def test_post_broadcast_reaches_assigned_workers(
    client: httpx.AsyncClient, services: Services, bus: RecordingBus
) -> None:
    """It should publish one message per worker assigned to the experiment for $broadcast."""
    await create_experiment(client, EXP)
    await create_experiment(client, "exp2")
    for unit, experiment in (("pio01", EXP), ("pio02", "exp2"), ("pio03", EXP)):
        await add_worker(client, unit)
        response = await client.put(
            f"/api/experiments/{experiment}/workers", json={"pioreactor_unit": unit}
        )
        assert response.status_code == 200, response.text
    await settle(services)
    bus.messages.clear()
    response = await client.post(f"/api/workers/$broadcast/experiments/{EXP}/logs", json=NEW_LOG)
    assert response.status_code == 202
    assert [m.topic for m in bus.messages] == [
        f"pioreactor/pio01/{EXP}/logs/ui/warning",
        f"pioreactor/pio03/{EXP}/logs/ui/warning",
    ]


@pytest.mark.parametrize(
    ("unit", "change", "field"),
    [
        ("pio01", {"timestamp": "2026-01-01T12:00:00"}, "timestamp"),
        ("pio01", {"timestamp": "yesterday"}, "timestamp"),
        ("pio01", {"timestamp": 1767268800}, "timestamp"),
        ("pio01", {"level": "LOUD"}, "level"),
        ("pio01", {"message": None}, "message"),
        ("pio01", {"source": None}, "source"),
        ("pio01", {"extra": 1}, "extra"),
        ("pio01", {"source_": "a/b"}, "log source"),
        ("ghost", {}, "ghost"),
        ("pio+", {}, "pio+"),
    ],
)
async def test_post_rejects_bad_entries(
    client: httpx.AsyncClient,
    services: Services,
    bus: RecordingBus,
    unit: str,
    change: dict[str, Any],
    field: str,
) -> None:
    """It should answer 400 naming the problem and publish nothing."""
    await add_worker(client, "pio01")
    await settle(services)
    bus.messages.clear()
    body = {key: value for key, value in {**NEW_LOG, **change}.items() if value is not None}
    response = await client.post(f"/api/workers/{unit}/experiments/{EXP}/logs", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["cause"]
    assert bus.messages == []
