"""The hardware interface every job talks to, and its simulated backend.

Nothing above this interface knows which backend is in use. The simulated backend is a small
bioreactor model good enough for job control: a stirrer whose speed follows its duty cycle with
inertia, an IR LED, and photodiodes whose signal follows a logistic culture with noise. The
simulated-bioreactor issue replaces the model with a fuller one behind the same interface.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pioleader.clock import Clock


class Hardware(Protocol):
    def set_pwm(self, device: str, duty_cycle: float) -> None:
        """Drive a PWM device (``stirring``, ``heating``, pumps) at ``duty_cycle`` percent."""

    def measure_rpm(self) -> float:
        """The stirrer's speed now, in RPM."""

    def set_ir_led(self, intensity: float) -> None:
        """The IR LED's intensity, in percent."""

    def read_photodiodes(self, channels: dict[str, str]) -> dict[str, float]:
        """A reading, in volts, of each channel (``{"2": "90"}``: channel → angle or REF)."""


@dataclass
class CultureParameters:
    """Per-unit culture of the simulated bioreactor; seeded so that runs are reproducible."""

    seed: int
    initial_od: float = 0.05
    carrying_capacity: float = 2.5
    growth_rate_per_hour: float = 0.4
    lag_hours: float = 0.2
    rpm_per_duty_cycle: float = 22.0
    stirrer_time_constant_s: float = 1.5
    noise: float = 0.003
    speedup: float = 1.0
    # Peristaltic pumps: mL per second at 100 % duty cycle, proportional below.
    pump_ml_per_second: float = 0.6


@dataclass
class SimulatedHardware:
    """Hardware that exists only in memory, advancing with the injected clock."""

    clock: Clock
    params: CultureParameters
    duty_cycles: dict[str, float] = field(default_factory=dict)
    ir_led_intensity: float = 0.0
    _rpm: float = 0.0
    _last: datetime | None = None
    _start: datetime | None = None
    # Water each pump has moved so far, in mL (what a scale under its outlet would show).
    pumped_ml: dict[str, float] = field(default_factory=dict)
    # A vial of known OD placed instead of the culture (OD calibration with standards).
    vial_od: float | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.params.seed)

    def set_pwm(self, device: str, duty_cycle: float) -> None:
        self._advance()
        self.duty_cycles[device] = max(0.0, min(100.0, duty_cycle))

    def measure_rpm(self) -> float:
        self._advance()
        if self._rpm < 1.0:
            return 0.0
        return round(max(0.0, self._rpm + self._random.gauss(0, 2.0)), 1)

    def set_ir_led(self, intensity: float) -> None:
        self.ir_led_intensity = max(0.0, min(100.0, intensity))

    def read_photodiodes(self, channels: dict[str, str]) -> dict[str, float]:
        self._advance()
        od = self.optical_density()
        brightness = self.ir_led_intensity / 100.0
        readings: dict[str, float] = {}
        for channel, angle in channels.items():
            if angle == "REF":
                signal = 0.25 * brightness
            else:
                gain = {"45": 0.9, "90": 1.0, "135": 0.6, "180": 0.4}.get(angle, 1.0)
                signal = brightness * gain * (0.002 + 0.05 * od)
            noisy = signal * (1 + self._random.gauss(0, self.params.noise))
            readings[channel] = round(max(noisy, 0.0), 7)
        return readings

    def pump_flow_ml_per_second(self, duty_cycle: float) -> float:
        """The true flow of a pump at ``duty_cycle`` percent."""
        return self.params.pump_ml_per_second * max(0.0, min(100.0, duty_cycle)) / 100.0

    def optical_density(self) -> float:
        """The culture's OD now (logistic growth after a lag), in the model's units."""
        if self.vial_od is not None:
            return self.vial_od
        now = self.clock.now()
        if self._start is None:
            self._start = now
        hours = (now - self._start).total_seconds() / 3600 * self.params.speedup
        growing = max(0.0, hours - self.params.lag_hours)
        p = self.params
        return p.carrying_capacity / (
            1
            + (p.carrying_capacity / p.initial_od - 1) * math.exp(-p.growth_rate_per_hour * growing)
        )

    def _advance(self) -> None:
        now = self.clock.now()
        if self._last is not None:
            elapsed = (now - self._last).total_seconds()
            target = self.duty_cycles.get("stirring", 0.0) * self.params.rpm_per_duty_cycle
            blend = 1 - math.exp(-elapsed / self.params.stirrer_time_constant_s)
            self._rpm += (target - self._rpm) * blend
            for device, duty_cycle in self.duty_cycles.items():
                if device.endswith("_pump") and duty_cycle > 0:
                    moved = self.pump_flow_ml_per_second(duty_cycle) * elapsed
                    self.pumped_ml[device] = self.pumped_ml.get(device, 0.0) + moved
        self._last = now


class NoHardware:
    """A unit without bioreactor hardware (the leader, unless it is also a worker)."""

    def _refuse(self) -> None:
        raise RuntimeError("this unit has no bioreactor hardware")

    def set_pwm(self, device: str, duty_cycle: float) -> None:
        self._refuse()

    def measure_rpm(self) -> float:
        self._refuse()
        return 0.0

    def set_ir_led(self, intensity: float) -> None:
        self._refuse()

    def read_photodiodes(self, channels: dict[str, str]) -> dict[str, float]:
        self._refuse()
        return {}
