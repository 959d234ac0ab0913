"""The guided calibration protocols: pump (duration based), stirring (duty-cycle sweep) and
OD (standards). Their action steps drive the unit's hardware; their last step saves the
calibration and makes it active.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from pioleader.unit.calibrations.curves import CurveError, fit_poly
from pioleader.unit.calibrations.models import OD_DEVICES, PUMP_DEVICES
from pioleader.unit.calibrations.steps import InputRefused, Session, StepField, StepType, StepView
from pioleader.unit.calibrations.store import CALIBRATIONS, DocumentStore, parse_document
from pioleader.unit.calibrations.usage import run_pump
from pioleader.unit.hardware import Hardware


class StepRefused(RuntimeError):
    """A step cannot act now (no hardware, the device is in use); the session stays put."""


@dataclass(frozen=True)
class StepContext:
    unit: str
    hardware: Hardware
    calibrations: DocumentStore
    now: Callable[[], datetime]
    running_jobs: Callable[[], set[str]]


Text = str | Callable[[dict[str, Any]], str]
Act = Callable[[StepContext, Session, dict[str, Any]], Awaitable[str]]


async def _next(step: str) -> str:
    return step


def goes_to(step: str) -> Act:
    return lambda ctx, session, values: _next(step)


@dataclass(frozen=True)
class Step:
    step_type: StepType
    title: Text
    body: Text
    act: Act | None = None
    fields: Callable[[dict[str, Any]], list[StepField]] = lambda data: []


@dataclass(frozen=True)
class Protocol:
    protocol_name: str
    devices: tuple[str, ...]
    title: str
    description: str
    requirements: tuple[str, ...]
    steps: dict[str, Step]
    priority: int = 99
    first_step: str = "intro"

    def view(self, session: Session) -> StepView:
        step = self.steps[session.step_id]
        data = {**session.data, "target_device": session.target_device}
        return StepView(
            step_id=session.step_id,
            step_type=step.step_type,
            title=step.title(data) if callable(step.title) else step.title,
            body=step.body(data) if callable(step.body) else step.body,
            fields=step.fields(session.data),
            metadata={"result": session.result} if session.result else {},
        )


def _number(
    name: str,
    label: str,
    *,
    minimum: float,
    maximum: float,
    default: float | None = None,
    unit: str | None = None,
    whole: bool = False,
) -> StepField:
    """A number field with its range (and a default when the step may be left as it is)."""
    return StepField(
        name=name,
        label=label,
        field_type="int" if whole else "float",
        default=default,
        minimum=minimum,
        maximum=maximum,
        unit=unit,
    )


def _run_hardware(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except RuntimeError as exc:
        raise StepRefused(str(exc)) from exc


def _refuse_if_running(ctx: StepContext, jobs: tuple[str, ...]) -> None:
    busy = sorted(ctx.running_jobs() & set(jobs))
    if busy:
        raise StepRefused(f"{', '.join(busy)} is running on {ctx.unit}; stop it first.")


async def save_calibration(
    ctx: StepContext, session: Session, document: dict[str, Any]
) -> dict[str, Any]:
    """Store the calibration the session produced, make it active, record it as the result."""
    now = ctx.now()
    name = f"{session.target_device}-{now:%Y%m%d-%H%M%S}"
    document = {
        "calibration_name": name,
        "calibrated_on_pioreactor_unit": ctx.unit,
        "created_at": now.isoformat(),
        **document,
    }
    text = yaml.safe_dump(document, sort_keys=False)
    parse_document(CALIBRATIONS, text)  # what we save must read back
    await ctx.calibrations.save(session.target_device, name, text)
    await ctx.calibrations.set_active(session.target_device, name)
    session.result = {"calibration_name": name, "device": session.target_device, **document}
    return session.result


async def save_fit(
    ctx: StepContext,
    session: Session,
    recorded: tuple[list[float], list[float]],
    axes: tuple[str, str],
    fields: dict[str, Any],
    degree: int = 1,
) -> None:
    """Fit a polynomial through the recorded points and save it as the session's calibration
    (with the type-specific ``fields``)."""
    xs, ys = recorded
    try:
        coefficients = fit_poly(xs, ys, degree)
    except CurveError as exc:
        raise InputRefused(f"The recorded points cannot be fitted: {exc}.") from exc
    if fields["calibration_type"] == "simple_peristaltic_pump" and coefficients[0] <= 0:
        raise InputRefused("The volumes do not grow with the duration; re-weigh and re-enter.")
    await save_calibration(
        ctx,
        session,
        {
            **fields,
            "curve_data_": {"type": "poly", "coefficients": coefficients},
            "x": axes[0],
            "y": axes[1],
            "recorded_data": {"x": xs, "y": ys},
        },
    )


# -- pump, duration based --------------------------------------------------------------------


def _pump_settings(data: dict[str, Any]) -> list[StepField]:
    return [
        _number("dc", "Duty cycle", default=100.0, minimum=1, maximum=100, unit="%"),
        _number("hz", "PWM frequency", default=250.0, minimum=1, maximum=10000, unit="Hz"),
        StepField(
            name="durations_s",
            label="Pump run durations",
            field_type="float_list",
            default=[1.0, 2.0, 3.0],
            minimum=0.1,
            maximum=120,
            unit="s",
            help="Each duration is run once; weigh the water moved after each run.",
        ),
    ]


async def _pump_configure(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    if not 2 <= len(values["durations_s"]) <= 12:
        raise InputRefused("'durations_s' must have between 2 and 12 entries.")
    if len(set(values["durations_s"])) < 2:
        raise InputRefused("'durations_s' must have at least two different durations.")
    session.data.update(values, recorded_x=[], recorded_y=[])
    return "run_pump"


def _current_duration(data: dict[str, Any]) -> float:
    return float(data["durations_s"][len(data["recorded_x"])])


async def _pump_run(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    _refuse_if_running(ctx, ("add_media", "add_alt_media", "remove_waste", "dosing_automation"))
    duty_cycle, seconds = float(session.data["dc"]), _current_duration(session.data)
    try:
        await run_pump(ctx.hardware, session.target_device, duty_cycle, seconds)
    except RuntimeError as exc:
        raise StepRefused(str(exc)) from exc
    return "record_volume"


async def _pump_record(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    data = session.data
    data["recorded_x"].append(_current_duration(data))
    data["recorded_y"].append(values["volume_ml"])
    if len(data["recorded_x"]) < len(data["durations_s"]):
        return "run_pump"
    await save_fit(
        ctx,
        session,
        (data["recorded_x"], data["recorded_y"]),
        ("Duration", "Volume"),
        {
            "calibration_type": "simple_peristaltic_pump",
            "hz": data["hz"],
            "dc": data["dc"],
            "voltage": -1.0,
        },
    )
    return "done"


def _done_body(data: dict[str, Any]) -> str:
    return f"The calibration is saved and is now the active one for {data['target_device']}."


PUMP_DURATION = Protocol(
    protocol_name="duration_based",
    devices=PUMP_DEVICES,
    title="Duration-based pump calibration",
    description="Build a duration-to-volume curve for the pump by running it for a few "
    "durations and weighing the water moved each time.",
    requirements=(
        "Peristaltic pump assigned to the device",
        "Vial",
        "Container of water",
        "Scale (0.01 g)",
    ),
    steps={
        "intro": Step(
            "info",
            "Prepare the pump",
            "Put the pump's inlet in a container of water and its outlet in an empty vial on "
            "the scale; prime the tubing so it is full of water.",
            goes_to("settings"),
        ),
        "settings": Step(
            "form",
            "Pump settings",
            "Choose the duty cycle and the run durations to measure.",
            _pump_configure,
            _pump_settings,
        ),
        "run_pump": Step(
            "action",
            lambda data: f"Run the pump for {_current_duration(data):g} s",
            "Tare the scale, then continue: the pump runs for the duration shown.",
            _pump_run,
        ),
        "record_volume": Step(
            "form",
            "Record the volume",
            lambda data: (
                f"Enter the water moved in {_current_duration(data):g} s (1 g of water is 1 mL)."
            ),
            _pump_record,
            lambda data: [_number("volume_ml", "Volume moved", minimum=0, maximum=1000, unit="mL")],
        ),
        "done": Step("result", "Calibration complete", _done_body),
    },
)


# -- stirring, duty-cycle sweep ----------------------------------------------------------------


def _sweep_points(data: dict[str, Any]) -> list[float]:
    low, high, count = float(data["dc_low"]), float(data["dc_high"]), int(data["points"])
    return [round(low + (high - low) * i / (count - 1), 3) for i in range(count)]


async def _stirring_configure(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    if values["dc_high"] <= values["dc_low"]:
        raise InputRefused("'dc_high' must be greater than 'dc_low'.")
    session.data.update(values)
    return "sweep"


async def _stirring_sweep(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    _refuse_if_running(ctx, ("stirring",))
    rpms: list[float] = []
    points = _sweep_points(session.data)

    def stir(duty_cycle: float) -> None:
        _run_hardware(lambda: ctx.hardware.set_pwm("stirring", duty_cycle))

    try:
        for duty_cycle in points:
            stir(duty_cycle)
            await asyncio.sleep(float(session.data["settle_s"]))
            rpms.append(float(_run_hardware(ctx.hardware.measure_rpm)))
    finally:
        stir(0.0)
    await save_fit(
        ctx,
        session,
        (points, rpms),
        ("DC %", "RPM"),
        {
            "calibration_type": "simple_stirring",
            "pwm_hz": float(session.data["pwm_hz"]),
            "voltage": -1.0,
        },
    )
    return "done"


STIRRING_SWEEP = Protocol(
    protocol_name="dc_based",
    devices=("stirring",),
    title="Stirring duty-cycle sweep",
    description="Map the stirrer's duty cycle to RPM by stepping through duty cycles and "
    "measuring the speed at each.",
    requirements=("Vial with water and a stir bar", "Stirring not running"),
    steps={
        "intro": Step(
            "info",
            "Prepare the vial",
            "Put a vial with water and a stir bar in the Pioreactor; stop the stirring job.",
            goes_to("settings"),
        ),
        "settings": Step(
            "form",
            "Sweep settings",
            "Choose the duty-cycle range, the number of points and how long each settles.",
            _stirring_configure,
            lambda data: [
                _number(
                    "dc_low", "Lowest duty cycle", default=20.0, minimum=0, maximum=100, unit="%"
                ),
                _number(
                    "dc_high", "Highest duty cycle", default=60.0, minimum=0, maximum=100, unit="%"
                ),
                _number("points", "Points", default=4, minimum=2, maximum=12, whole=True),
                _number(
                    "settle_s",
                    "Settling time per point",
                    default=5.0,
                    minimum=0.1,
                    maximum=60,
                    unit="s",
                ),
                _number(
                    "pwm_hz", "PWM frequency", default=200.0, minimum=1, maximum=10000, unit="Hz"
                ),
            ],
        ),
        "sweep": Step(
            "action",
            "Sweep the stirrer",
            lambda data: (
                "Continue to run the stirrer at "
                + ", ".join(f"{dc:g} %" for dc in _sweep_points(data))
                + " and measure its RPM at each."
            ),
            _stirring_sweep,
        ),
        "done": Step("result", "Calibration complete", _done_body),
    },
)


# -- OD, standards -----------------------------------------------------------------------------


def _angle(device: str) -> str:
    return device.removeprefix("od")


async def _od_configure(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    session.data.update(values, recorded_x=[], recorded_y=[])
    return "place_standard"


async def _od_standard(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    session.data["standard_od600"] = values["od600"]
    return "measure"


async def _od_measure(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    _refuse_if_running(ctx, ("od_reading",))
    data = session.data
    channel, angle = str(data["pd_channel"]), _angle(session.target_device)
    _run_hardware(lambda: ctx.hardware.set_ir_led(float(data["ir_led_intensity"])))
    try:
        readings = [
            float(_run_hardware(lambda: ctx.hardware.read_photodiodes({channel: angle}))[channel])
            for _ in range(5)
        ]
    finally:
        _run_hardware(lambda: ctx.hardware.set_ir_led(0.0))
    data["recorded_x"].append(float(data.pop("standard_od600")))
    data["recorded_y"].append(sum(readings) / len(readings))
    return "another"


async def _od_another(ctx: StepContext, session: Session, values: dict[str, Any]) -> str:
    data = session.data
    if values["add_another"]:
        return "place_standard"
    if len(set(data["recorded_x"])) < 2:
        raise InputRefused("At least two standards with different OD600 are needed.")
    # Scattered light saturates as OD grows: a quadratic once three standards allow it.
    degree = min(2, len(set(data["recorded_x"])) - 1)
    await save_fit(
        ctx,
        session,
        (data["recorded_x"], data["recorded_y"]),
        ("OD600", "Voltage"),
        {
            "calibration_type": "od600",
            "ir_led_intensity": float(data["ir_led_intensity"]),
            "angle": _angle(session.target_device),
            "pd_channel": str(data["pd_channel"]),
        },
        degree,
    )
    return "done"


OD_STANDARDS = Protocol(
    protocol_name="standards",
    devices=tuple(device for device in OD_DEVICES if device != "od"),
    title="OD600 standards",
    description="Map photodiode voltage to OD600 by measuring vials of known OD600.",
    requirements=("Vials of known OD600 (at least two)", "od_reading not running"),
    steps={
        "intro": Step(
            "info",
            "Prepare the standards",
            "Have vials of known OD600 ready, from the most dilute to the densest.",
            goes_to("settings"),
        ),
        "settings": Step(
            "form",
            "Photodiode settings",
            "Choose the photodiode channel at this angle and the IR LED intensity.",
            _od_configure,
            lambda data: [
                StepField(
                    name="pd_channel",
                    label="Photodiode channel",
                    field_type="choice",
                    default="2",
                    options=["1", "2", "3", "4"],
                ),
                _number(
                    "ir_led_intensity",
                    "IR LED intensity",
                    default=80.0,
                    minimum=0,
                    maximum=100,
                    unit="%",
                ),
            ],
        ),
        "place_standard": Step(
            "form",
            "Place a standard",
            "Put a standard vial in the Pioreactor and enter its OD600.",
            _od_standard,
            lambda data: [_number("od600", "OD600 of the standard", minimum=0, maximum=20)],
        ),
        "measure": Step(
            "action",
            "Measure the standard",
            lambda data: f"Continue to measure the standard of OD600 {data['standard_od600']:g}.",
            _od_measure,
        ),
        "another": Step(
            "form",
            "Another standard?",
            lambda data: f"{len(data['recorded_x'])} standard(s) measured.",
            _od_another,
            lambda data: [
                StepField(name="add_another", label="Measure another standard", field_type="bool")
            ],
        ),
        "done": Step("result", "Calibration complete", _done_body),
    },
)

PROTOCOLS: tuple[Protocol, ...] = (PUMP_DURATION, STIRRING_SWEEP, OD_STANDARDS)


def find_protocol(protocol_name: str, device: str) -> Protocol | None:
    for protocol in PROTOCOLS:
        if protocol.protocol_name == protocol_name and device in protocol.devices:
            return protocol
    return None
