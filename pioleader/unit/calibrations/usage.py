"""How jobs use active calibrations: mL to pump run time, photodiode volts to OD600.

A pump calibration maps run time to volume (x: Duration, y: Volume), an OD calibration maps
OD600 to volts (x: OD600, y: Voltage); jobs need the inverse of both, searched within the range
the calibration recorded (stretched, since a pump may be asked for more than was measured).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pioleader.unit.calibrations.curves import Curve, CurveError
from pioleader.unit.calibrations.models import ODCalibration, PumpCalibration
from pioleader.unit.calibrations.store import DocumentStore
from pioleader.unit.hardware import Hardware


class NoActiveCalibration(LookupError):
    """The device has no active calibration of the needed type; the message says which."""


@dataclass(frozen=True)
class PumpRun:
    device: str
    ml: float
    seconds: float
    duty_cycle: float
    calibration_name: str


def seconds_for_ml(calibration: PumpCalibration, ml: float) -> float:
    """Run time that moves ``ml`` by the calibration's curve; ``CurveError`` if it cannot."""
    if ml < 0:
        raise CurveError("the volume must be >= 0")
    if ml == 0:
        return 0.0
    curve = Curve.from_data(calibration.curve_data_.model_dump())
    longest = max(calibration.recorded_data.x, default=1.0)
    return curve.solve(ml, 0.0, max(longest, 1.0) * 1000)


def od_for_voltage(calibration: ODCalibration, voltage: float) -> float:
    """OD600 that gives ``voltage`` by the calibration's curve.

    A voltage the curve does not reach is clamped to the nearer end of the searched range (0 to
    ten times the densest standard), as a reading beyond the standards cannot be trusted anyway.
    """
    curve = Curve.from_data(calibration.curve_data_.model_dump())
    upper = max(max(calibration.recorded_data.x, default=1.0), 0.1) * 10
    try:
        return curve.solve(voltage, 0.0, upper)
    except CurveError:
        return 0.0 if abs(voltage - curve(0.0)) <= abs(voltage - curve(upper)) else upper


async def active_od_calibrations(
    store: DocumentStore, angles: dict[str, str]
) -> dict[str, ODCalibration]:
    """Per photodiode channel, the active calibration of its angle's device (od90, …) or of
    the generic ``od`` device, when one exists for that angle."""
    found: dict[str, ODCalibration] = {}
    for channel, angle in angles.items():
        for device in (f"od{angle}", "od"):
            calibration = await store.active(device)
            if isinstance(calibration, ODCalibration) and calibration.angle == angle:
                found[channel] = calibration
                break
    return found


async def plan_pump_run(store: DocumentStore, device: str, ml: float) -> PumpRun:
    """The run that moves ``ml`` with ``device``'s active calibration."""
    calibration = await store.active(device)
    if not isinstance(calibration, PumpCalibration):
        raise NoActiveCalibration(
            f"{device} has no active pump calibration; calibrate it "
            "(a duration_based session) or set one active."
        )
    return PumpRun(
        device=device,
        ml=ml,
        seconds=seconds_for_ml(calibration, ml),
        duty_cycle=calibration.dc,
        calibration_name=calibration.calibration_name,
    )


async def run_pump(hardware: Hardware, device: str, duty_cycle: float, seconds: float) -> None:
    """Drive the pump for ``seconds``; it is switched off however the wait ends."""
    hardware.set_pwm(device, duty_cycle)
    try:
        await asyncio.sleep(seconds)
    finally:
        hardware.set_pwm(device, 0.0)
