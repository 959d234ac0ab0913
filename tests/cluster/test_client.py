"""The unit client and the fan-out function against real sockets: a unit that answers, one
that refuses connections, one that accepts and never answers, one that runs a task."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pioleader.cluster import UnitClient, UnitDirectory, UnitRequest, fanout
from pioleader.cluster.transport import AiohttpTransport
from pioleader.configuration import ConfigFiles
from pioleader.configuration.defaults import TopologyDefaults
from pioleader.net import free_port
from pioleader.settings import UnitTimeouts

Handler = dict[str, tuple[int, object]]


class TinyUnit:
    """A unit HTTP API on a real port, answering canned JSON per path (HTTP/1.1, one shot)."""

    def __init__(self, answers: Handler, *, silent: bool = False) -> None:
        self.answers = answers
        self.silent = silent
        self.port = free_port()
        self.seen: list[tuple[str, str, bytes]] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TinyUnit:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ")
            length = 0
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":")[1])
            body = await reader.readexactly(length) if length else b""
            self.seen.append((method, target, body))
            if self.silent:
                await asyncio.Event().wait()
            status, payload = self.answers.get(target, (404, {"error": "no such path"}))
            data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def config(tmp_path: Path) -> ConfigFiles:
    files = ConfigFiles(tmp_path)
    files.ensure_defaults(TopologyDefaults())
    return files


@pytest.fixture
async def client(config: ConfigFiles) -> AsyncIterator[UnitClient]:
    transport = AiohttpTransport()
    yield UnitClient(
        transport,
        UnitDirectory(config),
        UnitTimeouts(
            read_seconds=0.5, write_seconds=0.5, task_seconds=2, poll_interval_seconds=0.01
        ),
    )
    await transport.aclose()


def place(config: ConfigFiles, **ports: int) -> None:
    config.set_shared_values(
        {("cluster.addresses", unit): f"127.0.0.1:{port}" for unit, port in ports.items()}
    )


async def test_envelopes_for_every_kind_of_unit(config: ConfigFiles, client: UnitClient) -> None:
    """It should give each unit its own envelope: ok, refused, timed out, adopted error."""
    ok = TinyUnit({"/unit_api/versions/app": (200, {"version": "1.0"})})
    erring = TinyUnit(
        {
            "/unit_api/versions/app": (
                409,
                {"error": "Busy", "cause": "doing x", "remediation": "wait", "status": 409},
            )
        }
    )
    silent = TinyUnit({}, silent=True)
    async with ok, erring, silent:
        place(config, ok=ok.port, erring=erring.port, silent=silent.port, dead=free_port())
        started = time.monotonic()
        results = await fanout(
            client, ["silent", "ok", "dead", "erring"], UnitRequest("GET", "/unit_api/versions/app")
        )
        elapsed = time.monotonic() - started

    assert list(results) == ["dead", "erring", "ok", "silent"]  # reads are sorted
    assert results["ok"] == {"ok": True, "unit": "ok", "value": {"version": "1.0"}}
    assert results["dead"]["ok"] is False
    assert results["dead"]["error"]["kind"] == "connection_error"
    assert results["dead"]["retryable"] is True and results["dead"]["status_code"] is None
    assert results["silent"]["error"]["kind"] == "connection_error"
    assert "0.5 s" in results["silent"]["error"]["message"]
    assert results["erring"] == {
        "ok": False,
        "unit": "erring",
        "error": {
            "kind": "http_error",
            "message": "Busy",
            "cause": "doing x",
            "remediation": "wait",
        },
        "status_code": 409,
        "retryable": False,
    }
    # The silent unit costs its timeout once; it does not delay the others.
    assert elapsed < 2.0


async def test_polls_a_unit_task_until_done(config: ConfigFiles, client: UnitClient) -> None:
    """It should follow a 202 to the unit's task result and use the task's result as value."""
    unit = TinyUnit(
        {
            "/unit_api/jobs/run/job_name/stirring": (
                202,
                {
                    "unit": "pio01",
                    "task_id": "t1",
                    "result_url_path": "/unit_api/task_results/t1",
                    "status": "accepted",
                },
            ),
            "/unit_api/task_results/t1": (
                200,
                {"task_id": "t1", "status": "succeeded", "result": {"ok": True}},
            ),
        }
    )
    async with unit:
        place(config, pio01=unit.port)
        envelope = await client.call(
            "pio01", UnitRequest("POST", "/unit_api/jobs/run/job_name/stirring", json={"a": 1})
        )
    assert envelope.as_json() == {"ok": True, "unit": "pio01", "value": {"ok": True}}
    method, target, body = unit.seen[0]
    assert (method, target, json.loads(body)) == (
        "POST",
        "/unit_api/jobs/run/job_name/stirring",
        {"a": 1},
    )


async def test_failed_unit_task_and_garbage(config: ConfigFiles, client: UnitClient) -> None:
    """It should report a failed unit task as task_failed and non-JSON as decode_error."""
    unit = TinyUnit(
        {
            "/unit_api/a": (202, {"result_url_path": "/unit_api/task_results/t2"}),
            "/unit_api/task_results/t2": (
                200,
                {"status": "failed", "error": "exit 1", "cause": "c", "remediation": "r"},
            ),
            "/unit_api/b": (200, b"<html>"),
        }
    )
    async with unit:
        place(config, pio01=unit.port)
        failed = (await client.call("pio01", UnitRequest("POST", "/unit_api/a"))).as_json()
        garbage = (await client.call("pio01", UnitRequest("GET", "/unit_api/b"))).as_json()
    assert failed["error"] == {
        "kind": "task_failed",
        "message": "exit 1",
        "cause": "c",
        "remediation": "r",
    }
    assert garbage["error"]["kind"] == "decode_error"


async def test_success_marker_is_stripped_and_writes_keep_order(
    config: ConfigFiles, client: UnitClient
) -> None:
    """It should drop a bare status: success and keep target order for writes."""
    first = TinyUnit({"/unit_api/jobs/stop/all": (202, {"status": "success"})})
    second = TinyUnit({"/unit_api/jobs/stop/all": (200, {"status": "success", "n": 2})})
    async with first, second:
        place(config, zeta=first.port, alpha=second.port)
        results = await fanout(
            client, ["zeta", "alpha"], UnitRequest("POST", "/unit_api/jobs/stop/all")
        )
    assert list(results) == ["zeta", "alpha"]
    assert results["zeta"]["value"] == {}
    assert results["alpha"]["value"] == {"n": 2}


async def test_addresses(config: ConfigFiles) -> None:
    """It should resolve configured addresses, the leader, literals and mDNS names."""
    directory = UnitDirectory(config)
    place(config, pio01=4101)
    config.set_shared_values({("cluster.addresses", "pio09"): "10.0.0.9"})
    assert await directory.base_url("pio01") == "http://127.0.0.1:4101"
    assert await directory.base_url("pio09") == "http://10.0.0.9:4999"
    assert await directory.base_url("leader") == "http://127.0.0.1:4999"
    assert await directory.base_url("pio77") == "http://pio77.local:4999"
    assert await directory.base_url("localhost") == "http://localhost:4999"
    assert (await directory.ipv4_addresses())["pio09"] == "10.0.0.9"


async def test_empty_fanout(client: UnitClient) -> None:
    """It should answer an empty target list with an empty map."""
    assert await fanout(client, [], UnitRequest("GET", "/unit_api/x")) == {}
