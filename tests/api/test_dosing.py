"""GET /api/experiments/{experiment}/media_rates."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import httpx

from pioleader.clock import format_timestamp
from pioleader.services import Services
from tests.conftest import START, create_experiment

EXP = "exp1"


def ago(seconds: float) -> str:
    return format_timestamp(START - timedelta(seconds=seconds))


async def test_media_rates_per_unit_and_all(client: httpx.AsyncClient, services: Services) -> None:
    """It should sum media and alt media added in the last 3 hours, per unit and in all, as
    mL/h, ignoring other events, older or future events and other experiments."""
    await create_experiment(client, EXP)
    await create_experiment(client, "exp2")
    rows = [
        (EXP, "pio01", ago(60), "add_media", 1.5, "chemostat"),
        (EXP, "pio01", ago(3600), "add_media", 1.5, "manually"),
        (EXP, "pio01", ago(7200), "add_alt_media", 0.75, "chemostat"),
        (EXP, "pio01", ago(120), "remove_waste", 9.0, "chemostat"),
        (EXP, "pio01", ago(3 * 3600), "add_media", 100.0, "chemostat"),  # at the cutoff
        (EXP, "pio01", ago(-60), "add_media", 100.0, "chemostat"),  # in the future
        (EXP, "pio02", ago(30), "add_alt_media", 3.0, "chemostat"),
        (EXP, "pio03", ago(30), "remove_waste", 3.0, "chemostat"),
        ("exp2", "pio04", ago(30), "add_media", 3.0, "chemostat"),
    ]

    def write(connection: sqlite3.Connection) -> None:
        connection.executemany(
            "INSERT INTO dosing_events (experiment, pioreactor_unit, timestamp, event,"
            " volume_change_ml, source_of_event) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    await services.db.write(write)
    response = await client.get(f"/api/experiments/{EXP}/media_rates")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "pio01": {"altMediaRate": 0.25, "mediaRate": 1.0},
        "pio02": {"altMediaRate": 1.0, "mediaRate": 0.0},
        "all": {"altMediaRate": 1.25, "mediaRate": 1.0},
    }


async def test_media_rates_without_events(client: httpx.AsyncClient) -> None:
    """It should answer only the zero "all" entry when nothing was dosed (or no experiment)."""
    for experiment in (EXP, "unknown"):
        response = await client.get(f"/api/experiments/{experiment}/media_rates")
        assert response.status_code == 200
        assert response.json() == {"all": {"altMediaRate": 0.0, "mediaRate": 0.0}}
