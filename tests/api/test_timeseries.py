"""Time series: bodies, windows, deterministic downsampling, the fallback route's checks, and
that a series is read through its index rather than row by row."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pioleader.api.timeseries.cache import SeriesCache
from pioleader.api.timeseries.models import SOURCES
from pioleader.api.timeseries.store import (
    Window,
    _Series,
    _SeriesQuery,
    bucket_of,
    bucket_width,
    series_points,
)
from pioleader.clock import format_timestamp, parse_timestamp
from pioleader.db import Database, app_migrations
from pioleader.services import Services
from tests.conftest import START, create_experiment, poll_task

EXP = "exp1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ago(seconds: float) -> str:
    return format_timestamp(START - timedelta(seconds=seconds))


async def insert(services: Services, table: str, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])

    def write(connection: sqlite3.Connection) -> None:
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)})"
            f" VALUES ({', '.join(':' + c for c in columns)})",
            rows,
        )

    await services.db.write(write)


def growth(unit: str, seconds_ago: float, rate: float, experiment: str = EXP) -> dict[str, Any]:
    return {
        "experiment": experiment,
        "pioreactor_unit": unit,
        "timestamp": ago(seconds_ago),
        "rate": rate,
    }


@pytest.fixture
async def experiment(client: httpx.AsyncClient) -> str:
    await create_experiment(client, EXP)
    await create_experiment(client, "other")
    return EXP


# -- bodies -------------------------------------------------------------------------------------


async def test_growth_rates_body(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should return one series per unit, units ascending, points oldest first, rounded."""
    await insert(
        services,
        "growth_rates",
        [
            growth("pio02", 60, 0.123456789),
            growth("pio01", 120, 0.5),
            growth("pio01", 60, 0.1111119),
            growth("pio01", 0, 0.2),
        ],
    )
    response = await client.get(f"/api/experiments/{experiment}/time_series/growth_rates")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=5"
    assert response.json() == {
        "series": ["pio01", "pio02"],
        "data": [
            [
                {"x": "2026-01-01T11:58:00.000Z", "y": 0.5},
                {"x": "2026-01-01T11:59:00.000Z", "y": 0.11111},
                {"x": "2026-01-01T12:00:00.000Z", "y": 0.2},
            ],
            [{"x": "2026-01-01T11:59:00.000Z", "y": 0.12346}],
        ],
    }


async def test_window_excludes_old_future_and_other_experiments(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should keep only (now − lookback, now] of the experiment asked for."""
    await insert(
        services,
        "growth_rates",
        [
            growth("pio01", 4 * 3600, 1.0),  # exactly at the cutoff: excluded
            growth("pio01", 4 * 3600 - 1, 2.0),
            growth("pio01", 0, 3.0),  # exactly now: included
            growth("pio01", -1, 4.0),  # in the future: excluded
            growth("pio02", 10, 5.0, experiment="other"),
        ],
    )
    body = (await client.get(f"/api/experiments/{experiment}/time_series/growth_rates")).json()
    assert body == {
        "series": ["pio01"],
        "data": [
            [
                {"x": "2026-01-01T08:00:01.000Z", "y": 2.0},
                {"x": "2026-01-01T12:00:00.000Z", "y": 3.0},
            ]
        ],
    }
    short = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates", params={"lookback": 0.001}
    )
    assert short.json() == {
        "series": ["pio01"],
        "data": [[{"x": "2026-01-01T12:00:00.000Z", "y": 3.0}]],
    }


async def test_no_rows_is_empty(client: httpx.AsyncClient, experiment: str) -> None:
    """It should answer an empty body when there is nothing in the window."""
    for name in SOURCES:
        response = await client.get(f"/api/experiments/{experiment}/time_series/{name}")
        assert response.status_code == 200
        assert response.json() == {"series": [], "data": []}
    response = await client.get("/api/experiments/nope/time_series/growth_rates")
    assert response.json() == {"series": [], "data": []}


async def test_od_readings_are_per_channel(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should label per-channel series '<unit>-<channel>', round OD to 7 decimals, and
    list a channel only when it has data in the window."""
    rows = [
        {"unit": "pio02", "channel": 1, "at": 30, "od": 0.123456789},
        {"unit": "pio01", "channel": 2, "at": 30, "od": 0.2},
        {"unit": "pio01", "channel": 1, "at": 30, "od": 0.1},
        {"unit": "pio01", "channel": 1, "at": 20, "od": 0.11},
        {"unit": "pio02", "channel": 2, "at": 5 * 3600, "od": 9.9},  # outside the window
    ]
    for table in ("od_readings", "raw_od_readings"):
        await insert(
            services,
            table,
            [
                {
                    "experiment": experiment,
                    "pioreactor_unit": row["unit"],
                    "timestamp": ago(row["at"]),
                    "od_reading": row["od"],
                    "channel": row["channel"],
                    **({"angle": 90} if table == "od_readings" else {}),
                }
                for row in rows
            ],
        )
    expected = {
        "series": ["pio01-1", "pio01-2", "pio02-1"],
        "data": [
            [
                {"x": "2026-01-01T11:59:30.000Z", "y": 0.1},
                {"x": "2026-01-01T11:59:40.000Z", "y": 0.11},
            ],
            [{"x": "2026-01-01T11:59:30.000Z", "y": 0.2}],
            [{"x": "2026-01-01T11:59:30.000Z", "y": 0.1234568}],
        ],
    }
    for name in ("od_readings", "raw_od_readings"):
        response = await client.get(f"/api/experiments/{experiment}/time_series/{name}")
        assert response.json() == expected, name
    one = await client.get(f"/api/workers/pio02/experiments/{experiment}/time_series/od_readings")
    assert one.json() == {
        "series": ["pio02-1"],
        "data": [[{"x": "2026-01-01T11:59:30.000Z", "y": 0.1234568}]],
    }


async def test_single_value_sources_and_rounding(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should read each source's value column and round it as §4 says."""
    base = {"experiment": experiment, "pioreactor_unit": "pio01", "timestamp": ago(10)}
    await insert(services, "temperature_readings", [{**base, "temperature_c": 30.456}])
    await insert(services, "od_readings_filtered", [{**base, "normalized_od_reading": 1.123456789}])
    await insert(services, "od_readings_fused", [{**base, "od_reading": 0.000123456789}])
    expected = {
        "temperature_readings": 30.46,
        "od_readings_filtered": 1.1234568,
        "od_readings_fused": 0.0001235,
    }
    for name, value in expected.items():
        body = (await client.get(f"/api/experiments/{experiment}/time_series/{name}")).json()
        assert body == {
            "series": ["pio01"],
            "data": [[{"x": "2026-01-01T11:59:50.000Z", "y": value}]],
        }, name


async def test_per_unit_route_reads_only_that_unit(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should return only the unit's series, and nothing for an unknown unit."""
    await insert(services, "growth_rates", [growth("pio01", 5, 0.1), growth("pio02", 5, 0.2)])
    base = f"/api/workers/pio02/experiments/{experiment}/time_series/growth_rates"
    assert (await client.get(base)).json() == {
        "series": ["pio02"],
        "data": [[{"x": "2026-01-01T11:59:55.000Z", "y": 0.2}]],
    }
    missing = f"/api/workers/ghost/experiments/{experiment}/time_series/growth_rates"
    assert (await client.get(missing)).json() == {"series": [], "data": []}


# -- downsampling -------------------------------------------------------------------------------


def reference_downsample(timestamps: list[str], target: int) -> list[str]:
    """The bucket algorithm of ``store.series_points`` written plainly, over all rows."""
    if len(timestamps) <= target:
        return timestamps
    if target == 1:
        return [timestamps[-1]]
    ms = [(parse_timestamp(t) - EPOCH) // timedelta(milliseconds=1) for t in timestamps]
    if target < 4:
        return [timestamps[0], timestamps[-1]]
    width = bucket_width(ms[-1] - ms[0], target)
    picked = [timestamps[0]]
    for stamp, at in zip(timestamps, ms, strict=True):
        bucket = at // width
        if bucket > ms[0] // width and bucket > bucket_of(picked[-1], width):
            picked.append(stamp)
    if picked[-1] != timestamps[-1]:
        picked.append(timestamps[-1])
    return picked


def test_bucket_width_is_round_and_wide_enough() -> None:
    """It should pick the narrowest round width that fits the span in target_points - 3."""
    assert bucket_width(14 * 86_400_000, 1400) == 900_000  # two weeks: 15 minutes
    assert bucket_width(4 * 3_600_000, 1400) == 12_000  # four hours: 12 seconds
    assert bucket_width(1000, 1003) == 1
    assert bucket_width(3 * 365 * 86_400_000, 100) == 16 * 86_400_000
    assert bucket_width(10 * 3_600_000, 1003) == 45_000
    for span in (1, 999, 3_600_000, 10**12):
        for target in (4, 5, 100, 1400):
            width = bucket_width(span, target)
            assert span / width <= target - 3


@pytest.fixture
async def dense(services: Services, experiment: str) -> list[str]:
    """pio01: a reading every 1.3 s for 3 hours, plus rows outside the window on both sides;
    returns the timestamps inside the default 4-hour window."""
    seconds = [i * 1.3 for i in range(int(3 * 3600 / 1.3))]
    rows = [growth("pio01", s, (s % 100) / 1000) for s in seconds]
    rows += [growth("pio01", 4 * 3600 + 5, 9.0), growth("pio01", -5, 9.0)]
    await insert(services, "growth_rates", rows)
    return sorted(ago(s) for s in seconds)


@pytest.mark.parametrize("target", [2, 3, 7, 100, 720, 1400])
async def test_downsampling_properties(
    client: httpx.AsyncClient, dense: list[str], experiment: str, target: int
) -> None:
    """It should keep at most target_points points, the first and last of the window, in
    strictly increasing time, evenly spaced, exactly as the reference algorithm picks them,
    and the same points again when they come from the cache."""
    response = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates",
        params={"target_points": target},
    )
    body = response.json()
    assert body["series"] == ["pio01"]
    xs = [point["x"] for point in body["data"][0]]
    assert len(xs) <= target
    assert xs[0] == dense[0] and xs[-1] == dense[-1]
    assert all(a < b for a, b in zip(xs, xs[1:], strict=False))
    assert xs == reference_downsample(dense, target)
    if target > 3:
        gaps = [
            (parse_timestamp(b) - parse_timestamp(a)).total_seconds()
            for a, b in zip(xs, xs[1:], strict=False)
        ]
        span = (parse_timestamp(dense[-1]) - parse_timestamp(dense[0])).total_seconds()
        step = bucket_width(int(span * 1000), target) / 1000
        # Even in time: between the partial first and last buckets, each gap is the bucket
        # width, give or take one reading interval.
        assert all(abs(gap - step) <= 1.3 + 0.001 for gap in gaps[1:-1])
    again = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates",
        params={"target_points": target},
    )
    assert again.json() == body


async def chart(client: httpx.AsyncClient, target: int = 100) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/experiments/{EXP}/time_series/growth_rates", params={"target_points": target}
    )
    assert response.status_code == 200, response.text
    data: list[list[dict[str, Any]]] = response.json()["data"]
    return data[0] if data else []


async def test_a_late_row_replaces_a_kept_point(
    client: httpx.AsyncClient, services: Services, dense: list[str]
) -> None:
    """It should show a row that arrives late, inside a bucket whose point was kept, ahead
    of that point (an ingester catching up after an outage)."""
    before = await chart(client)
    assert [p["x"] for p in before] == reference_downsample(dense, 100)
    kept = before[len(before) // 2]
    late = format_timestamp(parse_timestamp(kept["x"]) - timedelta(milliseconds=1))
    await insert(
        services,
        "growth_rates",
        [{"experiment": EXP, "pioreactor_unit": "pio01", "timestamp": late, "rate": 7.5}],
    )
    after = await chart(client)
    assert [p["x"] for p in after] == reference_downsample(sorted([*dense, late]), 100)
    assert {"x": late, "y": 7.5} in after
    assert kept not in after


async def test_a_shorter_window_with_few_rows_is_whole_again(
    client: httpx.AsyncClient, dense: list[str], experiment: str
) -> None:
    """It should not carry "more rows than target_points" over to a window that has fewer."""
    assert len(await chart(client, 100)) <= 100
    response = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates",
        params={"target_points": 100, "lookback": 60 / 3600},
    )
    recent = [t for t in dense if t > ago(60)]
    assert 10 < len(recent) < 100
    assert [p["x"] for p in response.json()["data"][0]] == recent


async def test_a_recreated_experiment_shows_only_its_own_rows(
    client: httpx.AsyncClient, services: Services, dense: list[str]
) -> None:
    """It should never show points of a deleted experiment in one created again with the
    same name."""
    assert await chart(client)
    await poll_task(client, services, await client.delete(f"/api/experiments/{EXP}"))
    await create_experiment(client, EXP)
    assert await chart(client) == []
    fresh = [growth("pio01", i * 60.0, 2.0) for i in range(200)]
    await insert(services, "growth_rates", fresh)
    points = await chart(client)
    assert points and {p["y"] for p in points} == {2.0}


async def test_the_cache_stays_within_its_bound(dense: list[str], tmp_path: Any) -> None:
    """It should keep no more points than its bound, and still answer correctly."""
    db = Database(tmp_path / "bound.sqlite", migrations=app_migrations())
    await db.open()
    try:
        rows = [growth(unit, i * 5.0, 0.1) for unit in ("pio01", "pio02") for i in range(2000)]
        await db.write(
            lambda c: (
                c.execute(
                    "INSERT INTO experiments (experiment, created_at) VALUES (?, ?)",
                    (EXP, "2025-01-01T00:00:00.000Z"),
                ),
                c.executemany(
                    "INSERT INTO growth_rates (experiment, pioreactor_unit, timestamp, rate)"
                    " VALUES (:experiment, :pioreactor_unit, :timestamp, :rate)",
                    rows,
                ),
            )
        )
        cache = SeriesCache(max_points=150)
        window = Window.ending(START, 4.0)
        for _ in range(2):
            for unit in ("pio01", "pio02"):
                points = await db.read(
                    lambda c, unit=unit: series_points(
                        c, SOURCES["growth_rates"], EXP, _Series(unit, None), window, 100, cache
                    )
                )
                assert 60 < len(points) <= 100
                assert len(cache) <= 150
    finally:
        await db.close()


async def test_target_points_one_is_newest_only(
    client: httpx.AsyncClient, dense: list[str], experiment: str
) -> None:
    """It should return only the newest reading in the window for target_points=1."""
    response = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates", params={"target_points": 1}
    )
    assert [p["x"] for p in response.json()["data"][0]] == [dense[-1]]


async def test_few_rows_are_returned_whole(
    client: httpx.AsyncClient, dense: list[str], experiment: str
) -> None:
    """It should return every row when the window has no more than target_points rows."""
    response = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates",
        params={"target_points": len(dense)},
    )
    assert [p["x"] for p in response.json()["data"][0]] == dense


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lookback", "0"),
        ("lookback", "-1"),
        ("lookback", "abc"),
        ("lookback", "nan"),
        ("lookback", "inf"),
        ("target_points", "0"),
        ("target_points", "-5"),
        ("target_points", "1.5"),
        ("target_points", "many"),
    ],
)
async def test_bad_query_values_are_400(
    client: httpx.AsyncClient, experiment: str, name: str, value: str
) -> None:
    """It should answer 400 naming the parameter, never 422 or 500."""
    for path in (
        f"/api/experiments/{experiment}/time_series/growth_rates",
        f"/api/workers/pio01/experiments/{experiment}/time_series/od_readings",
        f"/api/experiments/{experiment}/time_series/liquid_volumes/liquid_volume",
    ):
        response = await client.get(path, params={name: value})
        assert response.status_code == 400, (path, response.text)
        assert name in response.json()["cause"]


async def test_huge_lookback_reads_everything(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should treat a lookback beyond the calendar as 'since the beginning'."""
    await insert(services, "growth_rates", [growth("pio01", 10 * 365 * 86400, 0.5)])
    response = await client.get(
        f"/api/experiments/{experiment}/time_series/growth_rates", params={"lookback": 1e300}
    )
    assert response.json()["data"] == [[{"x": "2016-01-04T12:00:00.000Z", "y": 0.5}]]


# -- fallback -----------------------------------------------------------------------------------


async def test_fallback_reads_a_numeric_column(
    client: httpx.AsyncClient, services: Services, experiment: str
) -> None:
    """It should chart any numeric column of a table scoped by experiment and unit, skipping
    NULLs, rounding to 7 decimals."""
    await insert(
        services,
        "pwm_dcs",
        [
            {
                "experiment": experiment,
                "pioreactor_unit": "pio01",
                "timestamp": ago(20),
                "channel_1": 12.123456789,
                "channel_2": None,
            },
            {
                "experiment": experiment,
                "pioreactor_unit": "pio01",
                "timestamp": ago(10),
                "channel_1": None,
                "channel_2": 3.0,
            },
        ],
    )
    for path in (
        f"/api/experiments/{experiment}/time_series/pwm_dcs/channel_1",
        f"/api/workers/pio01/experiments/{experiment}/time_series/pwm_dcs/channel_1",
    ):
        assert (await client.get(path)).json() == {
            "series": ["pio01"],
            "data": [[{"x": "2026-01-01T11:59:40.000Z", "y": 12.1234568}]],
        }
    other = f"/api/workers/pio02/experiments/{experiment}/time_series/pwm_dcs/channel_1"
    assert (await client.get(other)).json() == {"series": [], "data": []}


@pytest.mark.parametrize(
    ("data_source", "column", "field"),
    [
        ("no_such_table", "value", "data_source"),
        ("sqlite_schema", "name", "data_source"),
        ("latest_experiment", "delta_hours", "data_source"),  # a view
        ("experiments", "description", "data_source"),  # no pioreactor_unit/timestamp
        ("pwm_dcs", "channel_9", "column"),
        ("dosing_events", "event", "column"),  # text
        ("pwm_dcs", "timestamp", "column"),
        ("pwm_dcs", "pioreactor_unit", "column"),
        ("logs;DROP TABLE logs", "x", "data_source"),
        ('pwm_dcs"', "channel_1", "data_source"),
    ],
)
async def test_fallback_rejects_what_cannot_be_charted(
    client: httpx.AsyncClient, experiment: str, data_source: str, column: str, field: str
) -> None:
    """It should answer 400 naming data_source or column for anything but a numeric column
    of a table with experiment, pioreactor_unit and timestamp."""
    response = await client.get(f"/api/experiments/{experiment}/time_series/{data_source}/{column}")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == f"Invalid {field}."
    tables = await client.get(f"/api/experiments/{experiment}/time_series/growth_rates")
    assert tables.status_code == 200


# -- cost ---------------------------------------------------------------------------------------


def _plan(connection: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[str]:
    return [str(row["detail"]) for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params)]


@pytest.mark.parametrize("name", ["growth_rates", "od_readings", "temperature_readings"])
async def test_series_queries_search_the_index(tmp_path: Any, name: str) -> None:
    """It should find every row of a series with SEARCH … USING (COVERING) INDEX, never a scan
    of the table."""
    db = Database(tmp_path / "plan.sqlite", migrations=app_migrations())
    await db.open()
    try:
        source = SOURCES[name]
        key = _Series("pio01", 1 if source.per_channel else None)
        window = Window.ending(START, 4.0)
        query = _SeriesQuery(source, EXP, key, window)
        extra = {"n": 720, "first_bucket": 0, "end_bucket": 10, "width": 15_000}

        def plans(connection: sqlite3.Connection) -> dict[str, list[str]]:
            statements = {
                "newest": query.newest,
                "oldest": query.oldest,
                "beyond_n": query.beyond_n,
                "all_rows": query.all_rows,
                "buckets": query.buckets,
            }
            return {
                label: _plan(connection, sql, {**query.params, **extra})
                for label, sql in statements.items()
            }

        for label, details in (await db.read(plans)).items():
            on_table = [d for d in details if f" {source.table} " in f" {d} "]
            assert on_table, (label, details)
            for detail in on_table:
                assert detail.startswith("SEARCH"), (label, details)
                assert f"INDEX {source.table}_ix" in detail or "INTEGER PRIMARY KEY" in detail, (
                    label,
                    details,
                )
            assert not any(d.startswith(f"SCAN {source.table}") for d in details), details
    finally:
        await db.close()


async def test_cost_does_not_grow_with_the_series(tmp_path: Any) -> None:
    """It should do about the same work on a series ten times longer (virtual machine steps
    measured with a progress handler), because it never reads the whole window."""
    db = Database(tmp_path / "cost.sqlite", migrations=app_migrations())
    await db.open()
    try:

        def fill(connection: sqlite3.Connection, unit: str, count: int) -> None:
            connection.execute(
                "INSERT OR IGNORE INTO experiments (experiment, created_at) VALUES (?, ?)",
                (EXP, "2025-01-01T00:00:00.000Z"),
            )
            step = 3 * 3600 / count
            connection.executemany(
                "INSERT INTO growth_rates (experiment, pioreactor_unit, timestamp, rate)"
                " VALUES (?, ?, ?, ?)",
                ((EXP, unit, ago(i * step), 0.1) for i in range(count)),
            )

        # The activity-data trigger only slows the filling down; it plays no part in reads.
        await db.write(
            lambda c: c.execute(
                "DROP TRIGGER update_pioreactor_unit_activity_data_from_growth_rates"
            )
        )
        await db.write(lambda c: fill(c, "short", 10_000))
        await db.write(lambda c: fill(c, "long", 100_000))

        def steps(unit: str) -> Callable[[sqlite3.Connection], tuple[int, int]]:
            def measure(connection: sqlite3.Connection) -> tuple[int, int]:
                calls = [0]

                def tick() -> int:
                    calls[0] += 1
                    return 0

                connection.set_progress_handler(tick, 100)
                try:
                    rows = series_points(
                        connection,
                        SOURCES["growth_rates"],
                        EXP,
                        _Series(unit, None),
                        Window.ending(START, 4.0),
                        720,
                        SeriesCache(),
                    )
                finally:
                    connection.set_progress_handler(None, 0)
                return calls[0], len(rows)

            return measure

        short_steps, short_rows = await db.read(steps("short"))
        long_steps, long_rows = await db.read(steps("long"))
        assert short_rows == long_rows
        assert 480 < short_rows <= 720
        assert long_steps < short_steps * 1.5, (short_steps, long_steps)
        # Reading the 100,000 rows alone would take far more steps than downsampling does.
        assert long_steps * 100 < 100_000
    finally:
        await db.close()
