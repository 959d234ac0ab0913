"""Fuzzing: schemathesis generates requests for every operation of our own OpenAPI description
and sends them over real HTTP to a leader served by uvicorn in this process (real SQLite, a
recording bus, fake units at the HTTP edge, reboot/shutdown only recorded).

Every answer must be below 500, every error must have the one error body, and every answer
must match what the description declares for its operation (status code, content type,
body schema). The number of examples per operation is bounded so that the run stays short.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pioleader.app import create_app
from pioleader.bus import RecordingBus
from pioleader.net import free_port
from pioleader.services import Overrides
from pioleader.settings import LeaderSettings, load_leader_settings
from tests.conftest import write_addresses
from tests.fakes import FakeUnits

EXAMPLES_PER_OPERATION = 12
ERROR_KEYS = {"error", "cause", "remediation", "status"}


@pytest.fixture(scope="module")
def leader_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    leader_settings = load_leader_settings(data_dir)
    write_addresses(leader_settings)
    # The leader is also a unit: without this, fuzzed plugin installs would run pip against
    # the package index. The refusals are still fuzzed; installs have their own tests.
    (data_dir / "DISALLOW_UI_INSTALLS").touch()
    port = free_port()
    app = create_app(
        replace(leader_settings, port=port),
        Overrides(bus=RecordingBus(), unit_transport=FakeUnits()),
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="fuzzed-leader", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the fuzzed leader did not start"
        assert thread.is_alive(), "the fuzzed leader stopped while starting"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


# The description is the app's own; building the app reads and writes nothing (the lifespan
# does), so the operations are known when tests are collected, one test each.
schema = schemathesis.openapi.from_dict(create_app(LeaderSettings(data_dir=Path("/"))).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_described(case: Any, leader_url: str) -> None:
    """It should answer every generated request below 500, with the one error body for
    errors, and as the OpenAPI description declares."""
    response = case.call(base_url=leader_url, timeout=30)
    case.validate_response(
        response,
        checks=(
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ),
    )
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == ERROR_KEYS, (case.method, case.path, body)
        assert body["status"] == response.status_code
