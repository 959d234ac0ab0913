"""What one unit's part of a fan-out looks like (behaviour §1.6).

Success: ``{"ok": true, "unit", "value"}``. Failure: ``{"ok": false, "unit", "error": {"kind",
"message", "cause"?, "remediation"?}, "status_code", "retryable"}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

FailureKind = Literal[
    "http_error",
    "connection_error",
    "decode_error",
    "task_failed",
    "task_incomplete",
    "task_timeout",
    "task_exception",
    "missing_result",
    "invalid_response",
]


class EnvelopeError(BaseModel):
    kind: FailureKind
    message: str
    cause: str | None = None
    remediation: str | None = None


class UnitSuccess(BaseModel):
    ok: Literal[True] = True
    unit: str
    value: Any = Field(description="What the unit answered (a task's result for async calls).")

    def as_json(self) -> dict[str, Any]:
        return {"ok": True, "unit": self.unit, "value": self.value}


class UnitFailure(BaseModel):
    ok: Literal[False] = False
    unit: str
    error: EnvelopeError
    status_code: int | None = Field(description="The unit's HTTP status, if it answered.")
    retryable: bool = Field(description="True for connection problems and 5xx answers.")

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": False,
            "unit": self.unit,
            "error": self.error.model_dump(exclude_none=True),
            "status_code": self.status_code,
            "retryable": self.retryable,
        }


Envelope = UnitSuccess | UnitFailure
