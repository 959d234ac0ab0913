"""The one error body, ``{error, cause, remediation, status}``, and every exception handler.

Every non-2xx answer of every route goes through here: our own ``ApiError``s, unknown routes
(404), wrong methods (405), bodies or parameters that fail validation (400, never 422), and
unexpected exceptions (a logged 500). Upstream Pioreactor rewrites error bodies after the fact;
we build them once, in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("pioleader.errors")


class ErrorBody(BaseModel):
    """What every error answer carries."""

    error: str = Field(description="Short, human-readable summary of what went wrong.")
    cause: str = Field(description="Why it went wrong, naming the field or resource at fault.")
    remediation: str = Field(description="What the caller can do about it.")
    status: int = Field(description="The HTTP status code, repeated in the body.")


class ApiError(Exception):
    """An error with a status and the three fields of the error body.

    Raise it anywhere under a request; the handler below renders it.
    """

    def __init__(
        self,
        status: int,
        error: str,
        *,
        cause: str | None = None,
        remediation: str = "Check the request and try again.",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.cause = cause or error
        self.remediation = remediation
        self.headers = headers

    def body(self) -> ErrorBody:
        return ErrorBody(
            error=self.error, cause=self.cause, remediation=self.remediation, status=self.status
        )


def not_found(what: str, name: str, remediation: str) -> ApiError:
    """The common 404: ``what`` named ``name`` does not exist."""
    return ApiError(
        404, f"{what} not found", cause=f"{what} {name!r} does not exist.", remediation=remediation
    )


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        status_code=error.status, content=error.body().model_dump(), headers=error.headers
    )


_STATUS_DESCRIPTIONS = {
    400: "Bad request: a body field, path segment or query value is invalid.",
    401: "Authentication is required.",
    403: "Not allowed on this unit.",
    404: "The resource does not exist.",
    405: "Method not allowed on this path.",
    409: "Conflicts with the current state.",
    413: "Request too large.",
    500: "Unexpected server error (a bug).",
    502: "A unit answered with an error or not at all.",
    503: "A required service (such as the MQTT broker) is unavailable.",
}


ERROR_BODY_REF = "#/components/schemas/ErrorBody"


def _document_error_body(app: FastAPI) -> None:
    """Put ``ErrorBody`` among the OpenAPI components that ``error_responses`` refer to."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_body.pop("$defs", {}))
        components.setdefault("ErrorBody", error_body)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error codes a route can answer with."""
    # The schema is named, not given as a model: FastAPI would file a model's schema under the
    # route's own media type, and routes that answer text/plain still fail in JSON.
    return {
        code: {
            "description": _STATUS_DESCRIPTIONS.get(code, "Error."),
            "content": {"application/json": {"schema": {"$ref": ERROR_BODY_REF}}},
        }
        for code in (*codes, 400, 500)
    }


def describe_validation_errors(errors: Iterable[Any]) -> tuple[str, list[str]]:
    """Turn pydantic's error list into one readable cause and the names of the fields at fault."""
    parts: list[str] = []
    fields: list[str] = []
    for err in errors:
        location: Sequence[Any] = err.get("loc", ())
        where = ".".join(str(piece) for piece in location if piece != "body") or "body"
        if location and location[0] == "body" and len(location) == 1:
            where = "request body"
        fields.append(where)
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            message = "is not valid JSON"
            where = "request body"
        parts.append(f"{where}: {message}")
    return "; ".join(parts) or "The request did not validate.", fields


def _validation_error(exc: RequestValidationError) -> ApiError:
    cause, fields = describe_validation_errors(exc.errors())
    locations = {str(err.get("loc", ("body",))[0]) for err in exc.errors()}
    if locations <= {"body"}:
        error = "Invalid request body."
        remediation = (
            "Send a JSON object whose fields have the documented names and types "
            f"(see /docs); fix: {', '.join(dict.fromkeys(fields))}."
        )
    else:
        error = "Invalid request parameter."
        remediation = f"Fix the parameter(s) {', '.join(dict.fromkeys(fields))} (see /docs)."
    return ApiError(400, error, cause=cause, remediation=remediation)


def _http_error(request: Request, exc: StarletteHTTPException) -> ApiError:
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 404:
        return ApiError(
            404,
            "Not Found",
            cause=f"No route matches {request.method} {request.url.path}.",
            remediation="Check the path; every route is listed at /docs.",
        )
    if exc.status_code == 405:
        allowed = next(
            (value for key, value in (headers or {}).items() if key.lower() == "allow"), ""
        )
        return ApiError(
            405,
            "Method Not Allowed",
            cause=f"{request.method} is not allowed on {request.url.path}.",
            remediation=f"Use one of: {allowed}." if allowed else "See /docs for allowed methods.",
            headers=headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
    return ApiError(exc.status_code, detail, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the one error body, and document it."""
    _document_error_body(app)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_validation_error(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(_http_error(request, exc))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            ApiError(
                500,
                "Internal server error.",
                cause=f"{type(exc).__name__} while handling {request.method} {request.url.path}.",
                remediation="This is a bug in pioleader; the leader's log has the traceback.",
            )
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
