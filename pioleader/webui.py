"""Serving a build of the web UI (the official Pioreactor UI, or any single-page app).

With ``[pioleader] ui_dir`` (or ``--ui-dir``) set, the leader serves the build directory's files
under ``/static/`` (the official build asks for ``/static/static/js/…``, ``/static/favicon.ico``)
and its ``index.html`` for every other GET that is not the API: the UI routes in the browser
(``/overview``, ``/pioreactors/pio01``, …). ``/api``, ``/unit_api``, ``/exports``, ``/docs``,
``/redoc`` and ``/openapi.json`` are never shadowed: an unknown path there stays a JSON 404.
Upstream does the same with lighttpd rewrites in front of Flask.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from pioleader.errors import ApiError

# First path segments that belong to the server, never to the UI's own routes.
RESERVED = frozenset({"api", "unit_api", "exports", "static", "docs", "redoc", "openapi.json"})


class UiBuildInvalid(Exception):
    """The configured UI directory is not a build (no index.html)."""


def check_ui_dir(ui_dir: Path) -> Path:
    """The build's ``index.html``; raise UiBuildInvalid, naming the fix, when there is none."""
    index = ui_dir / "index.html"
    if not index.is_file():
        raise UiBuildInvalid(
            f"{ui_dir} is not a web UI build: it has no index.html. Give the folder that holds "
            "index.html (for the official UI: pioreactor/web/static of the pioreactor wheel), "
            "or leave [pioleader] ui_dir empty to serve the API alone."
        )
    return index


def install_ui(app: FastAPI, ui_dir: Path) -> None:
    """Serve the build in ``ui_dir``: call after every API router is included, since the
    fallback route matches any path."""
    index = check_ui_dir(ui_dir)
    app.mount("/static", StaticFiles(directory=ui_dir), name="ui-static")

    # Not in the OpenAPI description: it is the UI, not an operation of the API.
    @app.get("/{ui_path:path}", include_in_schema=False)
    async def serve_ui(ui_path: str) -> FileResponse:
        first = ui_path.split("/", 1)[0]
        if first in RESERVED:
            raise ApiError(
                404,
                "Not found",
                cause=f"No route matches /{ui_path}.",
                remediation="See /docs for the API's paths.",
            )
        # The UI must always load its newest build; its hashed assets can be cached.
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
