"""Serving a web UI build: /static/ assets, index.html for the UI's own routes, the API never
shadowed, and a refusal of a folder that is not a build."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pioleader.app import create_app
from pioleader.bus import RecordingBus
from pioleader.clock import ManualClock
from pioleader.services import Overrides
from pioleader.settings import CommandLineOverrides, LeaderSettings, load_leader_settings
from pioleader.webui import UiBuildInvalid
from tests.fakes import FakeUnits

INDEX = '<!doctype html><html><script src="/static/static/js/main.js"></script></html>'
SCRIPT = "console.log('the UI');"


@pytest.fixture
def ui_dir(tmp_path: Path) -> Path:
    """A small build laid out as the official one: index.html and hashed assets."""
    build = tmp_path / "build"
    (build / "static" / "js").mkdir(parents=True)
    (build / "index.html").write_text(INDEX)
    (build / "static" / "js" / "main.js").write_text(SCRIPT)
    (build / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    return build


@pytest.fixture
async def ui_client(
    settings: LeaderSettings, ui_dir: Path, clock: ManualClock, bus: RecordingBus
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        replace(settings, ui_dir=ui_dir),
        Overrides(clock=clock, bus=bus, unit_transport=FakeUnits()),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://leader.test") as c:
            yield c


async def test_static_assets_served(ui_client: httpx.AsyncClient) -> None:
    """It should serve the build's files under /static/, as the build's index.html asks."""
    script = await ui_client.get("/static/static/js/main.js")
    assert script.status_code == 200
    assert script.text == SCRIPT
    assert "javascript" in script.headers["content-type"]
    icon = await ui_client.get("/static/favicon.ico")
    assert icon.status_code == 200 and icon.content == b"\x00\x00\x01\x00"


@pytest.mark.parametrize("path", ["/", "/overview", "/pioreactors/pio01", "/config/leader"])
async def test_ui_routes_get_index(ui_client: httpx.AsyncClient, path: str) -> None:
    """It should answer the UI's own routes with index.html, never cached stale."""
    response = await ui_client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/api/no_such_thing", "/unit_api/nope", "/exports/x.zip", "/static/missing.js"]
)
async def test_api_paths_not_shadowed(ui_client: httpx.AsyncClient, path: str) -> None:
    """It should keep unknown API, export and asset paths JSON 404s, not the UI's page."""
    response = await ui_client.get(path)
    assert response.status_code == 404
    assert "text/html" not in response.headers["content-type"]
    assert set(response.json()) == {"error", "cause", "remediation", "status"}


async def test_api_still_served(ui_client: httpx.AsyncClient) -> None:
    """It should serve the API, its documentation and its description beside the UI."""
    assert (await ui_client.get("/api/experiments")).json() == []
    assert (await ui_client.get("/openapi.json")).json()["info"]["title"] == "pioleader"
    docs = await ui_client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert (await ui_client.get("/unit_api/health")).status_code == 200


async def test_same_origin_writes_accepted(ui_client: httpx.AsyncClient) -> None:
    """It should accept the UI's state changes: same-origin, JSON bodies, as a browser sends."""
    response = await ui_client.post(
        "/api/experiments",
        json={"experiment": "from the UI", "description": "", "tags": []},
        headers={"Origin": "http://leader.test", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 201, response.text


async def test_fallback_not_in_openapi(ui_client: httpx.AsyncClient) -> None:
    """It should leave the UI out of the API's description (the fuzz test covers the API)."""
    paths = (await ui_client.get("/openapi.json")).json()["paths"]
    assert not any("ui_path" in path for path in paths)


def test_without_ui_dir_no_fallback(app: FastAPI) -> None:
    """It should serve no UI unless asked to."""
    assert not any(getattr(route, "path", "") == "/{ui_path:path}" for route in app.routes)


def test_folder_without_index_refused(settings: LeaderSettings, tmp_path: Path) -> None:
    """It should refuse, naming the fix, a folder that is not a build."""
    with pytest.raises(UiBuildInvalid, match="no index.html"):
        create_app(replace(settings, ui_dir=tmp_path))


def test_ui_dir_from_config_and_command_line(data_dir: Path, ui_dir: Path) -> None:
    """It should read [pioleader] ui_dir (relative to the data directory), and let the
    command line win."""
    settings = load_leader_settings(data_dir)
    assert settings.ui_dir is None
    settings.config_files.set_shared_values({("pioleader", "ui_dir"): "ui"})
    assert load_leader_settings(data_dir).ui_dir == data_dir / "ui"
    chosen = load_leader_settings(data_dir, CommandLineOverrides(ui_dir=ui_dir))
    assert chosen.ui_dir == ui_dir
