"""The control logic of the automations, clock-free and MQTT-free (jobs-and-automations §3.3–3.5),
so that the science checks can close the loop on the simulated bioreactor with a manual clock.
The automation jobs call these and do the I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class PID:
    """A PID with derivative on measurement and an integral clamped to the output limits."""

    kp: float
    ki: float
    kd: float
    setpoint: float
    output_limits: tuple[float, float] = (-math.inf, math.inf)
    _integral: float = 0.0
    _last_input: float | None = None

    def update(self, measured: float, dt: float = 1.0) -> float:
        low, high = self.output_limits
        error = self.setpoint - measured
        self._integral = min(max(self._integral + self.ki * error * dt, low), high)
        derivative = 0.0 if self._last_input is None else (measured - self._last_input) / dt
        self._last_input = measured
        output = self.kp * error + self._integral - self.kd * derivative
        return min(max(output, low), high)


def thermostat_duty_cycle(pid: PID, temperature: float, duty_cycle: float) -> tuple[float, float]:
    """The thermostat's step: the PID's output is a change of the heater's duty cycle.
    Returns (new duty cycle, the change asked for)."""
    delta = pid.update(temperature)
    return min(max(duty_cycle + delta, 0.0), 100.0), delta


def subdoses(ml: float, max_subdose: float) -> list[float]:
    """``ml`` split into equal parts of at most ``max_subdose``."""
    if ml <= 0:
        return []
    parts = max(1, math.ceil(ml / max_subdose - 1e-9))
    return [ml / parts] * parts


def turbidostat_should_dilute(
    biomass: float, target: float, seconds_since_dilution: float | None, settle_seconds: float = 30
) -> bool:
    """Dilute when the biomass signal reaches the target, unless the last dilution is still
    settling."""
    settling = seconds_since_dilution is not None and seconds_since_dilution < settle_seconds
    return biomass >= target and not settling


def morbidostat_volumes(
    pid: PID,
    growth_rate: float,
    normalized_od: float,
    *,
    volume_ml: float,
    duration_minutes: float,
    min_od: float,
    max_od: float,
    minimum_alt_ml: float,
) -> tuple[float, float] | None:
    """(media mL, alt media mL) for one pid_morbidostat run, or None to skip (culture too thin).

    The PID, acting against the growth rate, gives the fraction of alt media; the exchanged
    volume dilutes at the target rate over the run, more when the culture is too dense."""
    if normalized_od <= min_od:
        return None
    fraction = pid.update(growth_rate)
    volume = pid.setpoint * volume_ml * duration_minutes / 60
    if normalized_od > max_od:
        volume *= 2.5
    alt = fraction * volume
    if alt < minimum_alt_ml:
        alt = 0.0
    return volume - alt, alt


def light_is_on(minutes: float, light_minutes: float, dark_minutes: float) -> bool:
    """Whether a light/dark cycle that started lit ``minutes`` ago is in its light phase."""
    period = light_minutes + dark_minutes
    return period > 0 and (minutes % period) < light_minutes
