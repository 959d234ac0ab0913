"""Calibration and estimator documents (upstream's YAML structures) and the API's shapes.

A calibration is a tagged union on ``calibration_type``; its curve a tagged union on ``type``.
Device and document names become file names, so both are single portable path components.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$"
_NAME = re.compile(NAME_PATTERN)

PUMP_DEVICES = ("media_pump", "alt_media_pump", "waste_pump")
OD_DEVICES = ("od", "od45", "od90", "od135", "od180")
# Which calibration types each device accepts (upstream's built-in devices).
DEVICE_TYPES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(PUMP_DEVICES, ("simple_peristaltic_pump",)),
    **dict.fromkeys(OD_DEVICES, ("od", "od600")),
    "stirring": ("simple_stirring",),
}
ESTIMATOR_DEVICES: dict[str, tuple[str, ...]] = {"od_fused": ("od_fused_estimator",)}


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a device or document name, or None when it can."""
    if ".." in name or not _NAME.match(name):
        return (
            "must be 1-100 letters, digits, '_', '-' or '.', not start with '.' or '-', "
            "and contain no path separator or '..'"
        )
    return None


class _Document(BaseModel):
    # Unknown keys are kept as written: the file is stored verbatim.
    model_config = ConfigDict(extra="allow")


class PolyCurve(_Document):
    type: Literal["poly"]
    coefficients: list[float] = Field(min_length=1, description="Highest power first.")


class PiecewiseCurve(_Document):
    type: Literal["spline", "akima"]
    knots: list[float] = Field(min_length=2)
    coefficients: list[list[float]] = Field(
        description="Per interval between two knots: [a, b, c, d] of a + b·u + c·u² + d·u³."
    )

    @model_validator(mode="after")
    def _pieces_match_knots(self) -> PiecewiseCurve:
        if any(b <= a for a, b in zip(self.knots, self.knots[1:], strict=False)):
            raise ValueError("knots must be strictly increasing")
        if len(self.coefficients) != len(self.knots) - 1:
            raise ValueError("coefficients must have one entry per interval (len(knots) - 1)")
        if any(len(piece) != 4 for piece in self.coefficients):
            raise ValueError("each entry of coefficients must have 4 numbers")
        return self


CurveData = Annotated[PolyCurve | PiecewiseCurve, Field(discriminator="type")]


class RecordedData(_Document):
    x: list[float]
    y: list[float]

    @model_validator(mode="after")
    def _same_length(self) -> RecordedData:
        if len(self.x) != len(self.y):
            raise ValueError("recorded_data.x and recorded_data.y must have the same length")
        return self


class _Calibration(_Document):
    calibration_name: str
    calibrated_on_pioreactor_unit: str
    created_at: AwareDatetime
    curve_data_: CurveData
    x: str
    y: str
    recorded_data: RecordedData


class ODCalibration(_Calibration):
    calibration_type: Literal["od", "od600"]
    ir_led_intensity: float = Field(ge=0, le=100)
    angle: Literal["45", "90", "135", "180"]
    pd_channel: Literal["1", "2", "3", "4"]


class PumpCalibration(_Calibration):
    calibration_type: Literal["simple_peristaltic_pump"]
    hz: float = Field(gt=0)
    dc: float = Field(ge=0, le=100)
    voltage: float


class StirringCalibration(_Calibration):
    calibration_type: Literal["simple_stirring"]
    pwm_hz: float = Field(gt=0)
    voltage: float


Calibration = Annotated[
    ODCalibration | PumpCalibration | StirringCalibration,
    Field(discriminator="calibration_type"),
]


class ODFusedEstimator(_Document):
    estimator_type: Literal["od_fused_estimator"]
    estimator_name: str
    calibrated_on_pioreactor_unit: str
    created_at: AwareDatetime


Estimator = Annotated[ODFusedEstimator, Field(discriminator="estimator_type")]


# -- request and answer bodies -------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateCalibration(_Body):
    calibration_data: str = Field(
        max_length=1_000_000, description="The calibration as YAML text (upstream's structure)."
    )
    set_as_active: bool = False


class CalibrationCreated(BaseModel):
    msg: str
    path: str


Document = dict[str, Any]


class Success(BaseModel):
    status: Literal["success"] = "success"


class CalibrationProtocol(BaseModel):
    id: str
    target_device: str
    protocol_name: str
    priority: int
    title: str
    description: str
    requirements: list[str]


class StartSession(_Body):
    target_device: str = Field(max_length=100, description="Device to calibrate, e.g. media_pump.")
    protocol_name: str = Field(max_length=100, description="See GET .../calibration_protocols.")


class SessionInputs(_Body):
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Values for the current step's fields, by name."
    )
