"""Fixtures of the end-to-end UI test: the UI build, Chromium, and the simulated cluster
serving the build. Each skips, saying what to install, when its piece is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pioleader.net import free_port
from pioleader.up import SimulatedCluster
from tests.e2e.ui_build import NoUiBuild, ui_build

CHROMIUM_NAMES = ("chromium", "chromium-browser")


@pytest.fixture(scope="session")
def ui_dir() -> Path:
    try:
        return ui_build()
    except (NoUiBuild, OSError) as error:
        pytest.skip(f"no web UI build ({error}); run `make ui-test-deps` with network access")


@pytest.fixture(scope="session")
def chromium() -> str:
    found = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if found is None:
        pytest.skip("Chromium is not installed: `make ui-test-deps` (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def ui_cluster(
    ui_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatedCluster]:
    """Mosquitto (TCP and websockets), the ingester, the leader serving the UI, two workers
    running the demo jobs (so that charts have readings)."""
    cluster = SimulatedCluster(
        data_dir=tmp_path_factory.mktemp("ui") / "cluster",
        workers=2,
        port=free_port(),
        mqtt_port=free_port(),
        mqtt_ws_port=free_port(),
        log_level="warning",
        ui_dir=ui_dir,
        start_jobs=True,
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: `make test-deps`"
    )
    with sync_api.sync_playwright() as playwright:
        # No browser download: Debian's Chromium. No sandbox: tests may run as root.
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()
