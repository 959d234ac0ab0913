"""The leader's one HTTP client towards units, and how a single unit call becomes an envelope.

A call has a per-unit timeout (2 s for writes, 5 s for reads unless the endpoint says
otherwise); when the unit answers 202 with a ``result_url_path``, the client polls that task
until it ends or the task timeout passes. Whatever happens (refused connection, timeout, an
error answer, a failed task, garbage) the caller gets an envelope, never an exception. A unit
going unreachable is logged once, and its return once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from pioleader.cluster.addresses import UnitDirectory
from pioleader.cluster.envelopes import (
    Envelope,
    EnvelopeError,
    FailureKind,
    UnitFailure,
    UnitSuccess,
)
from pioleader.cluster.transport import FileField, RawResponse, TransportError, UnitTransport
from pioleader.settings import UnitTimeouts

logger = logging.getLogger("pioleader.cluster")


@dataclass(frozen=True)
class UnitRequest:
    """One request to a unit's ``/unit_api``."""

    method: str
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    task_timeout: float | None = None
    # False: answer a task's 202 as it is, instead of polling the task to its end.
    follow_tasks: bool = True
    # A file to send as multipart form data instead of a JSON body.
    file: FileField | None = None
    # Successful answers are returned as their raw bytes (zip files), not decoded as JSON.
    raw: bool = False

    def __post_init__(self) -> None:
        if not self.path.startswith("/unit_api/"):
            raise ValueError(f"unit requests go to /unit_api/..., not {self.path!r}")


class _Failed(Exception):
    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        cause: str | None = None,
        remediation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error = EnvelopeError(kind=kind, message=message, cause=cause, remediation=remediation)
        self.status_code = status_code
        self.retryable = retryable


class UnitClient:
    def __init__(
        self, transport: UnitTransport, directory: UnitDirectory, timeouts: UnitTimeouts
    ) -> None:
        self._transport = transport
        self._directory = directory
        self._timeouts = timeouts
        self._unreachable: set[str] = set()

    async def call(self, unit: str, request: UnitRequest) -> Envelope:
        try:
            value = await self._call(unit, request)
        except _Failed as failure:
            if failure.error.kind == "connection_error":
                self._note_unreachable(unit, failure.error.message)
            else:
                self._note_reachable(unit)
            return UnitFailure(
                unit=unit,
                error=failure.error,
                status_code=failure.status_code,
                retryable=failure.retryable,
            )
        self._note_reachable(unit)
        return UnitSuccess(unit=unit, value=value)

    # -- internals -----------------------------------------------------------------------------

    async def _call(self, unit: str, request: UnitRequest) -> Any:
        is_read = request.method.upper() == "GET"
        timeout = request.timeout or (
            self._timeouts.read_seconds if is_read else self._timeouts.write_seconds
        )
        base = await self._directory.base_url(unit)
        response = await self._send(
            request.method,
            base + request.path,
            timeout,
            json=request.json,
            params=request.params,
            file=request.file,
        )
        if request.raw and response.status < 400:
            return response.content
        body = self._decode(response)
        if response.status >= 400:
            raise self._http_failure(response.status, body)
        if (
            request.follow_tasks
            and response.status == 202
            and isinstance(body, dict)
            and "result_url_path" in body
        ):
            task_timeout = request.task_timeout or (
                self._timeouts.read_seconds if is_read else self._timeouts.task_seconds
            )
            return await self._poll(base + str(body["result_url_path"]), task_timeout)
        return _strip_success(body)

    async def _send(
        self,
        method: str,
        url: str,
        limit: float,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        file: FileField | None = None,
    ) -> RawResponse:
        """One HTTP exchange, bounded in total by ``limit`` seconds."""
        try:
            async with asyncio.timeout(limit):
                return await self._transport.request(
                    method,
                    url,
                    json=json,
                    params=params or None,
                    file=file,
                    limit_seconds=limit,
                )
        except TimeoutError as error:
            raise _Failed(
                "connection_error",
                f"No answer from {url} within {limit:g} s.",
                retryable=True,
                cause=type(error).__name__,
                remediation="Check that the unit is powered, on the network, and running.",
            ) from error
        except TransportError as error:
            raise _Failed(
                "connection_error",
                f"Could not reach {url}: {error or type(error).__name__}",
                retryable=True,
                remediation="Check that the unit is powered, on the network, and running.",
            ) from error

    @staticmethod
    def _decode(response: RawResponse) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise _Failed(
                "decode_error",
                f"The unit's answer (HTTP {response.status}) is not JSON.",
                status_code=response.status,
                retryable=response.status >= 500,
            ) from error

    @staticmethod
    def _http_failure(status: int, body: Any) -> _Failed:
        retryable = status >= 500 or status == 429
        if (
            isinstance(body, dict)
            and isinstance(body.get("error"), str)
            and body.get("status") in (None, status)
        ):
            # The unit sent a well-formed error body: adopt it rather than paraphrase it.
            return _Failed(
                "http_error",
                body["error"],
                status_code=status,
                retryable=retryable,
                cause=body.get("cause") if isinstance(body.get("cause"), str) else None,
                remediation=body.get("remediation")
                if isinstance(body.get("remediation"), str)
                else None,
            )
        return _Failed(
            "http_error",
            f"The unit answered HTTP {status}.",
            status_code=status,
            retryable=retryable,
        )

    async def _poll(self, url: str, task_timeout: float) -> Any:
        try:
            async with asyncio.timeout(task_timeout):
                while True:
                    response = await self._send("GET", url, self._timeouts.read_seconds)
                    body = self._decode(response)
                    if response.status >= 400:
                        raise self._http_failure(response.status, body)
                    if not isinstance(body, dict) or "status" not in body:
                        raise _Failed(
                            "invalid_response",
                            "The unit's task status has no 'status'.",
                            status_code=response.status,
                        )
                    if body["status"] == "succeeded":
                        if "result" not in body:
                            raise _Failed("missing_result", "The unit's task has no result.")
                        return body["result"]
                    if body["status"] == "failed":
                        raise _Failed(
                            "task_failed",
                            str(body.get("error") or "The unit's task failed."),
                            cause=body.get("cause"),
                            remediation=body.get("remediation"),
                        )
                    await asyncio.sleep(self._timeouts.poll_interval_seconds)
        except TimeoutError as error:
            raise _Failed(
                "task_timeout",
                f"The unit's task did not finish within {task_timeout:g} s.",
                retryable=True,
            ) from error

    def _note_unreachable(self, unit: str, message: str) -> None:
        if unit not in self._unreachable:
            self._unreachable.add(unit)
            logger.warning("unit %s is unreachable: %s", unit, message)

    def _note_reachable(self, unit: str) -> None:
        if unit in self._unreachable:
            self._unreachable.discard(unit)
            logger.info("unit %s is reachable again", unit)


def _strip_success(body: Any) -> Any:
    """Drop a bare ``"status": "success"`` marker, as upstream's envelopes do."""
    if isinstance(body, dict) and body.get("status") == "success":
        return {key: value for key, value in body.items() if key != "status"}
    return body
