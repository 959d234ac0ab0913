"""Fakes at the edge: units' HTTP APIs, behind the leader's unit transport.

For in-process API tests a unit is whatever answers on its address. This transport records
every request the leader sends to units (like upstream's ``capture_requests``) and answers per
unit: normally, with an error, or not at all. Handlers speak httpx's Request/Response types;
integration tests use real worker processes instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from pioleader.cluster.transport import FileField, RawResponse, TransportError

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class SentRequest:
    host: str
    port: int
    method: str
    path: str
    body: Any


@dataclass
class FakeUnits:
    """Answers for ``http://<host>:<port>/unit_api/...``, keyed by port."""

    down: set[int] = field(default_factory=set)
    handlers: dict[int, Handler] = field(default_factory=dict)
    sent: list[SentRequest] = field(default_factory=list)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        file: FileField | None = None,
        limit_seconds: float,
    ) -> RawResponse:
        """The leader's UnitTransport interface."""
        # The per-request limit travels as httpx's timeout extension, for tests that check it.
        limits = dict.fromkeys(("connect", "read", "write", "pool"), limit_seconds)
        files = None if file is None else {file.field: (file.filename, file.content)}
        request = httpx.Request(
            method, url, json=json, params=params, files=files, extensions={"timeout": limits}
        )
        request.read()
        try:
            response = self._handle(request)
        except httpx.ConnectError as error:
            raise TransportError(str(error)) from error
        return RawResponse(response.status_code, response.read())

    async def aclose(self) -> None:
        return None

    def _handle(self, request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        port = url.port or 80
        multipart = request.headers.get("content-type", "").startswith("multipart/")
        body = json.loads(request.content) if request.content and not multipart else None
        self.sent.append(SentRequest(url.hostname or "", port, request.method, url.path, body))
        if port in self.down:
            raise httpx.ConnectError("Connection refused", request=request)
        if port in self.handlers:
            return self.handlers[port](request)
        return httpx.Response(200, json={"status": "success"})

    def to(self, port: int) -> list[SentRequest]:
        return [sent for sent in self.sent if sent.port == port]
