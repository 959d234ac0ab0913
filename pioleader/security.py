"""Request safety for the leader and the workers, whether or not authentication is on.

Upstream parses bodies whatever their content type and sets no CORS or CSRF guard, so any web
page a lab member visits can post to the leader on the LAN and run pumps (behaviour §11). Here,
before any handler runs:

* **Cross-site requests are refused** when they change state (POST, PUT, PATCH, DELETE): a
  browser says where a request comes from (``Origin``, ``Sec-Fetch-Site``); one from another
  origin than the server's own, and not in ``[pioleader] allowed_origins``, gets a 403.
  Programs (curl, Python, the leader calling its workers) send neither header and are not
  affected; the official UI, served from the leader, is same-origin.
* **Bodies must say what they are**: a body sent with POST, PUT or PATCH must be JSON, or
  multipart form data (uploads). A ``text/plain`` or form-encoded body — what a cross-site
  "simple" request can send without the browser asking first — is a 415, never parsed.
* **Size limits**: JSON bodies up to ``max_body_bytes``, multipart uploads up to
  ``max_upload_bytes`` (routes may set a lower limit of their own); larger is a 413, whether
  the size is announced (``Content-Length``) or not (chunked).
* **CORS** only for the configured origins (none by default).

**Authentication**, when ``[pioleader] api_key`` is set: every request under ``/api``,
``/unit_api`` and ``/exports`` must carry the key (``Authorization: Bearer <key>``, or Basic
with the key as password), except the health check; otherwise 401. The leader sends the key to
its workers, which share the configuration.

Every refusal has the one error body.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pioleader.errors import ERROR_BODY_REF, ApiError, error_response
from pioleader.settings import SafetySettings

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROTECTED_PREFIXES = ("/api/", "/unit_api/", "/exports/")
OPEN_PATHS = frozenset({"/unit_api/health"})
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
JSON_TYPES = ("application/json",)
UPLOAD_TYPES = ("multipart/form-data",)


class _Refused(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.error)
        self.error = error


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type in JSON_TYPES or media_type.endswith("+json")


class RequestSafety:
    """Pure ASGI middleware: checks the request line and headers, and counts body bytes."""

    def __init__(self, app: ASGIApp, settings: SafetySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope["headers"]
        }
        try:
            self._check_key(scope, headers)
            if scope["method"] not in STATE_CHANGING:
                await self.app(scope, receive, send)
                return
            self._check_origin(headers)
            limit = self._check_body(scope["method"], headers)
        except _Refused as refused:
            await error_response(refused.error)(scope, receive, send)
            return
        if limit is None:
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive, limit)
        if isinstance(body, ApiError):
            await error_response(body)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_key(self, scope: Scope, headers: dict[str, str]) -> None:
        key = self.settings.api_key
        path: str = scope["path"]
        if key is None or scope["method"] == "OPTIONS" or path in OPEN_PATHS:
            return
        if not path.startswith(PROTECTED_PREFIXES):
            return
        if not _presents(headers.get("authorization", ""), key):
            raise _Refused(
                ApiError(
                    401,
                    "Authentication required.",
                    cause="This cluster requires its API key, and the request did not carry it.",
                    remediation="Send 'Authorization: Bearer <api key>' ([pioleader] api_key).",
                    headers={"WWW-Authenticate": 'Bearer realm="pioleader"'},
                )
            )

    def _check_origin(self, headers: dict[str, str]) -> None:
        origin = headers.get("origin")
        if origin is None:
            # Browsers send Origin with every cross-origin request that changes state; a
            # request without it comes from a program, or from a page of this server.
            if headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
                raise _Refused(_cross_site("another site"))
            return
        if origin in self.settings.allowed_origins:
            return
        # "null": a sandboxed frame or a local file, never this server's own page.
        if origin == "null" or origin.split("://", 1)[-1] != headers.get("host", ""):
            raise _Refused(_cross_site(origin))

    def _check_body(self, method: str, headers: dict[str, str]) -> int | None:
        """The body's byte limit when it must be counted while read; None when it can't be
        larger than announced (no body, or a Content-Length within the limit)."""
        length_header = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        has_body = chunked or (length_header not in (None, "0"))
        if method not in WITH_BODY or not has_body:
            return None
        media_type = _media_type(headers.get("content-type", ""))
        if _is_json(media_type):
            limit = self.settings.max_body_bytes
        elif media_type in UPLOAD_TYPES:
            limit = self.settings.max_upload_bytes
        else:
            raise _Refused(
                ApiError(
                    415,
                    "Unsupported content type.",
                    cause=(
                        f"The body was sent as {media_type or 'no content type'!r}; this API "
                        "reads JSON bodies (and multipart form data for uploads)."
                    ),
                    remediation="Send the body with 'Content-Type: application/json'.",
                )
            )
        if length_header is not None and not chunked:
            try:
                length = int(length_header)
            except ValueError:
                raise _Refused(
                    ApiError(
                        400, "Invalid Content-Length.", cause="Content-Length is not a number."
                    )
                ) from None
            if length > limit:
                raise _Refused(_too_large(limit))
            return None
        return limit

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes | ApiError:
        """Read a body of unannounced length, refusing it as soon as it passes ``limit``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _presents(authorization: str, key: str) -> bool:
    """Whether the Authorization header carries the key: as a bearer token, or as the
    password (or the whole credential) of Basic authentication."""
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(credential.encode(), key.encode())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        password = decoded.partition(":")[2] if ":" in decoded else decoded
        return hmac.compare_digest(password.encode(), key.encode())
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _cross_site(origin: str) -> ApiError:
    return ApiError(
        403,
        "Cross-site request refused.",
        cause=f"A request that changes state came from a page of {origin}, not from this server.",
        remediation=(
            "Use the UI served by the leader, a program without a browser, or add the origin "
            "to [pioleader] allowed_origins."
        ),
    )


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "Request body too large.",
        cause=f"The body is larger than this server accepts ({limit} bytes).",
        remediation="Send less at once (or raise the limit in [pioleader] of config.ini).",
    )


def install_request_safety(app: FastAPI, settings: SafetySettings) -> None:
    """Add the checks above (and CORS for the allowed origins) and document their errors."""
    app.add_middleware(RequestSafety, settings=settings)
    if settings.allowed_origins:
        # Added last, so it runs first: preflight requests are answered before the checks.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=sorted(settings.allowed_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    _document_refusals(app, settings)


_REFUSALS = {
    "401": "Authentication required: the API key is missing or wrong.",
    "403": "Refused: a cross-site request that changes state.",
    "413": "Request body too large.",
    "415": "The body is neither JSON nor multipart form data.",
}


def _document_refusals(app: FastAPI, settings: SafetySettings) -> None:
    """Declare the middleware's answers: on every operation that changes state, and, when a
    key is required, 401 and the bearer scheme on every protected operation."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        reference = {"$ref": ERROR_BODY_REF}
        protected = settings.api_key is not None
        if protected:
            schema["components"].setdefault("securitySchemes", {})["apiKey"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "The cluster's [pioleader] api_key.",
            }
        for path, operations in schema.get("paths", {}).items():
            keyed = protected and path.startswith(PROTECTED_PREFIXES) and path not in OPEN_PATHS
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                codes = ["401"] if keyed else []
                if keyed:
                    operation["security"] = [{"apiKey": []}]
                if method.upper() in STATE_CHANGING:
                    codes.append("403")
                if method.upper() in WITH_BODY:
                    codes += ["413", "415"]
                for code in codes:
                    responses.setdefault(
                        code,
                        {
                            "description": _REFUSALS[code],
                            "content": {"application/json": {"schema": reference}},
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
