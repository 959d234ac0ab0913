"""The building blocks of guided calibration sessions: fields, their rules, step views.

A protocol is a set of steps; each step shows a title, a body and the fields it asks for, and
``advance`` checks the inputs against those fields before the step may act. A refusal leaves
the session where it was.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

FieldType = Literal["string", "float", "int", "bool", "float_list", "choice"]
StepType = Literal["info", "confirm", "form", "action", "result"]
SessionStatus = Literal["in_progress", "complete", "failed", "aborted"]


class InputRefused(ValueError):
    """Inputs that break a step's field rules; the message names the field and the rule."""


class StepField(BaseModel):
    name: str
    label: str
    field_type: FieldType
    required: bool = True
    default: Any = None
    options: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    help: str | None = None


class StepView(BaseModel):
    step_id: str
    step_type: StepType
    title: str
    body: str
    fields: list[StepField] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Session(BaseModel):
    session_id: str
    protocol_name: str
    target_device: str
    status: SessionStatus
    step_id: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = None
    error: str | None = None


class SessionAnswer(BaseModel):
    """What every session endpoint answers: the session and its current step."""

    session: Session
    step: StepView


def _number(field: StepField, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputRefused(f"'{field.name}' must be a number.")
    if not math.isfinite(value):
        raise InputRefused(f"'{field.name}' must be a finite number.")
    return float(value)


def _in_range(field: StepField, value: float, name: str) -> None:
    if field.minimum is not None and value < field.minimum:
        raise InputRefused(f"'{name}' must be >= {field.minimum:g}")
    if field.maximum is not None and value > field.maximum:
        raise InputRefused(f"'{name}' must be <= {field.maximum:g}")


def _scalar_number(field: StepField, value: Any) -> float | int:
    if field.field_type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputRefused(f"'{field.name}' must be a whole number.")
        number: float | int = value
    else:
        number = _number(field, value)
    _in_range(field, number, field.name)
    return number


def check_value(field: StepField, value: Any) -> Any:
    """``value`` converted for ``field``, or ``InputRefused`` naming the rule it breaks."""
    if field.field_type in ("float", "int"):
        return _scalar_number(field, value)
    if field.field_type == "bool":
        if not isinstance(value, bool):
            raise InputRefused(f"'{field.name}' must be true or false.")
        return value
    if field.field_type == "float_list":
        if not isinstance(value, list) or not value:
            raise InputRefused(f"'{field.name}' must be a non-empty list of numbers.")
        numbers = [_number(field, item) for item in value]
        for index, number in enumerate(numbers):
            _in_range(field, number, f"{field.name}[{index}]")
        return numbers
    if not isinstance(value, str):
        raise InputRefused(f"'{field.name}' must be a string.")
    if field.field_type == "choice" and value not in (field.options or []):
        raise InputRefused(f"'{field.name}' must be one of: {', '.join(field.options or [])}.")
    return value


def check_inputs(fields: list[StepField], inputs: dict[str, Any]) -> dict[str, Any]:
    """Every field's value from ``inputs`` (or its default), checked against its rules."""
    known = {field.name for field in fields}
    unknown = sorted(set(inputs) - known)
    if unknown:
        expected = ", ".join(sorted(known)) or "no inputs"
        raise InputRefused(f"Unknown input '{unknown[0]}'; this step expects {expected}.")
    values: dict[str, Any] = {}
    for field in fields:
        if field.name in inputs and inputs[field.name] is not None:
            values[field.name] = check_value(field, inputs[field.name])
        elif field.default is not None:
            values[field.name] = check_value(field, field.default)
        elif field.required:
            raise InputRefused(f"Missing '{field.name}'.")
    return values
