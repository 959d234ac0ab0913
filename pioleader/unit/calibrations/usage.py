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


@dataclass(frozen=True)
class Dose:
    ml: float
    seconds: float
    duty_cycle: float


async def plan_dose(
    store: DocumentStore | None,
    pump: str,
    *,
    ml: float | None,
    seconds: float | None,
    nominal_ml_per_second: float,
) -> Dose:
    """How a dosing action runs ``pump`` (``media``, ``alt_media``, ``waste``) for ``ml`` or
    for ``seconds``: through the active calibration of ``<pump>_pump`` when there is one,
    else at the nominal rate and full duty cycle."""
    calibration = await store.active(f"{pump}_pump") if store is not None else None
    if not isinstance(calibration, PumpCalibration):
        if ml is None:
            ml = (seconds or 0.0) * nominal_ml_per_second
        return Dose(ml=ml, seconds=ml / nominal_ml_per_second, duty_cycle=100.0)
    if ml is None:
        curve = Curve.from_data(calibration.curve_data_.model_dump())
        run = seconds or 0.0
        return Dose(ml=max(0.0, curve(run)), seconds=run, duty_cycle=calibration.dc)
    return Dose(ml=ml, seconds=seconds_for_ml(calibration, ml), duty_cycle=calibration.dc)


def pump_of(device: str) -> str:
    """The hardware's pump name of a calibration device: ``media_pump`` → ``media``."""
    return device.removesuffix("_pump")


async def run_pump(hardware: Hardware, device: str, duty_cycle: float, seconds: float) -> float:
    """Run the pump of ``device`` for ``seconds`` and wait the run out; return the mL the
    hardware reports it moved (the true volume on simulated units)."""
    moved = hardware.run_pump(pump_of(device), seconds, duty_cycle)
    await asyncio.sleep(seconds)
    return moved
