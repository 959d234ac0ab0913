"""Request safety: cross-site requests that change state are refused, bodies must be JSON (or
multipart), sizes are bounded, CORS only for configured origins; all with the one error body
and nothing written."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from pioleader.app import create_app
from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.services import Overrides
from pioleader.settings import LeaderSettings, SafetySettings
from tests.fakes import FakeUnits

HOST = "http://leader.test"
NEW = {"experiment": "fresh", "created_at": "2026-01-01T12:00:00Z"}


def assert_refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "cause", "remediation", "status"}
    assert body["status"] == status
    assert words in (body["error"] + body["cause"]).lower()


async def exists(client: httpx.AsyncClient, experiment: str) -> bool:
    return (await client.get(f"/api/experiments/{experiment}")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://leader.test.evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_writes_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """It should refuse a state-changing request a browser marks as coming from elsewhere."""
    assert_refused(await client.post("/api/experiments", json=NEW, headers=headers), 403, "cross")
    assert not await exists(client, "fresh")
    await client.post("/api/experiments", json=NEW)
    for method in ("DELETE", "PATCH"):
        response = await client.request(
            method, "/api/experiments/fresh", json={"description": "x"}, headers=headers
        )
        assert_refused(response, 403, "cross")
    assert (await client.get("/api/experiments/fresh")).json()["description"] != "x"


async def test_own_pages_and_programs_may_write(client: httpx.AsyncClient) -> None:
    """It should accept the leader's own origin, programs without Origin, and reads from
    anywhere."""
    own = {"Origin": HOST, "Sec-Fetch-Site": "same-origin"}
    assert (await client.post("/api/experiments", json=NEW, headers=own)).status_code == 201
    second = {**NEW, "experiment": "second"}
    assert (await client.post("/api/experiments", json=second)).status_code == 201
    elsewhere = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert (await client.get("/api/experiments", headers=elsewhere)).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_bodies_must_be_json(client: httpx.AsyncClient, content_type: str | None) -> None:
    """It should answer 415 to a body that is not declared as JSON, and never parse it."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/api/experiments", content=json.dumps(NEW), headers=headers)
    assert_refused(response, 415, "content type")
    assert not await exists(client, "fresh")


async def test_json_with_a_charset_and_bodyless_posts_are_fine(
    client: httpx.AsyncClient,
) -> None:
    """It should accept JSON with parameters, and a POST without a body (the UI's blink)."""
    response = await client.post(
        "/api/experiments",
        content=json.dumps(NEW),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    response = await client.post("/api/workers/pio01/blink")
    assert response.status_code not in (403, 413, 415), response.text


@pytest.fixture
def small_app(settings: LeaderSettings, clock: ManualClock) -> FastAPI:
    safety = SafetySettings(allowed_origins=frozenset({"http://dashboard.lab"}), max_body_bytes=200)
    return create_app(
        replace(settings, safety=safety),
        Overrides(clock=clock, bus=RecordingBus(), unit_transport=FakeUnits()),
    )


@pytest.fixture
async def small(small_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with small_app.router.lifespan_context(small_app):
        transport = httpx.ASGITransport(app=small_app)
        async with httpx.AsyncClient(transport=transport, base_url=HOST) as client:
            yield client


async def chunks(body: bytes, size: int = 50) -> AsyncIterator[bytes]:
    """The body in pieces, with no length announced (sent chunked)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_bodies_over_the_limit_are_413(small: httpx.AsyncClient) -> None:
    """It should refuse a body over the limit, announced or chunked, and keep nothing."""
    big = {**NEW, "description": "x" * 300}
    assert_refused(await small.post("/api/experiments", json=big), 413, "too large")
    response = await small.post(
        "/api/experiments",
        content=chunks(json.dumps(big).encode()),
        headers={"Content-Type": "application/json"},
    )
    assert_refused(response, 413, "too large")
    assert not await exists(small, "fresh")
    response = await small.post(
        "/api/experiments",
        content=chunks(json.dumps(NEW).encode()),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_cors_only_for_allowed_origins(small: httpx.AsyncClient) -> None:
    """It should let a configured origin write and answer its preflight, and no other."""
    allowed = {"Origin": "http://dashboard.lab", "Sec-Fetch-Site": "cross-site"}
    response = await small.post("/api/experiments", json=NEW, headers=allowed)
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == "http://dashboard.lab"
    preflight = {
        "Origin": "http://dashboard.lab",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "content-type",
    }
    response = await small.options("/api/experiments/fresh", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://dashboard.lab"
    stranger = {**preflight, "Origin": "http://evil.example"}
    response = await small.options("/api/experiments/fresh", headers=stranger)
    assert "access-control-allow-origin" not in response.headers
    response = await small.get("/api/experiments", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_refusals_are_documented(app: FastAPI) -> None:
    """It should declare 403, 413 and 415 on every operation with a body, 403 on DELETE."""
    paths = app.openapi()["paths"]
    assert {"403", "413", "415"} <= set(paths["/api/experiments"]["post"]["responses"])
    assert "403" in paths["/api/experiments/{experiment}"]["delete"]["responses"]
    assert "415" not in paths["/api/experiments/{experiment}"]["delete"]["responses"]
    assert "403" not in paths["/api/experiments"]["get"]["responses"]
