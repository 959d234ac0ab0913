"""The hardware interface every job talks to, and its simulated backend.

Nothing above this interface knows which backend is in use. The simulated backend drives a
``Bioreactor`` model (``pioleader.unit.culture``) with the injected clock: the model advances
by the wall-clock time since it was last looked at, whatever method is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn, Protocol

from pioleader.clock import Clock
from pioleader.unit.culture import LED_CHANNELS, Bioreactor, CultureParameters

__all__ = [
    "CultureParameters",
    "CultureSnapshot",
    "Hardware",
    "NoHardware",
    "SimulatedHardware",
]


@dataclass(frozen=True)
class CultureSnapshot:
    """What is really in the vessel now (only a simulation can know; tests compare to it)."""

    od: float
    volume_ml: float
    alt_media_fraction: float
    temperature_c: float
    growth_rate_per_hour: float
    rpm: float


class Hardware(Protocol):
    def set_pwm(self, device: str, duty_cycle: float) -> None:
        """Drive a PWM device (``stirring`` or ``heating``) at ``duty_cycle`` percent, until
        changed."""

    def measure_rpm(self) -> float:
        """The stirrer's speed now, in RPM."""

    def set_ir_led(self, intensity: float) -> None:
        """The IR LED's intensity, in percent."""

    def read_photodiodes(self, channels: dict[str, str]) -> dict[str, float]:
        """A reading, in volts, of each channel (``{"2": "90"}``: channel → angle or REF)."""

    def run_pump(self, pump: str, seconds: float, duty_cycle: float = 100.0) -> float:
        """Run pump ``media``, ``alt_media`` or ``waste`` for ``seconds`` at ``duty_cycle``
        percent and return the mL it moved (its true flow rate times the time). The caller
        waits out the run; the liquid moves at once. Waste only removes liquid above the
        efflux tube; media dilutes the culture."""

    def read_temperature(self) -> float:
        """The temperature sensor's reading, in °C."""

    def set_led(self, channel: str, intensity: float) -> None:
        """Set LED channel ``A``–``D`` to ``intensity`` percent (0–100)."""

    def led_intensities(self) -> dict[str, float]:
        """Each LED channel's intensity, in percent."""

    def snapshot(self) -> CultureSnapshot:
        """The true state of the vessel (simulation only; real hardware cannot answer)."""

    def load_vial(self, od: float, *, growing: bool = False) -> None:
        """Swap the vessel's content for a suspension at ``od`` (a calibration standard, which
        does not grow unless ``growing``)."""


@dataclass
class SimulatedHardware:
    """Hardware that exists only in memory, advancing with the injected clock."""

    clock: Clock
    params: CultureParameters
    model: Bioreactor = field(init=False)
    _last: datetime | None = None

    def __post_init__(self) -> None:
        self.model = Bioreactor(self.params)

    def set_pwm(self, device: str, duty_cycle: float) -> None:
        self._advance()
        value = max(0.0, min(100.0, duty_cycle))
        if device == "stirring":
            self.model.stirrer_duty_cycle = value
        elif device == "heating":
            self.model.heater_duty_cycle = value
        else:
            raise ValueError(f"unknown PWM device {device!r} (devices: stirring, heating)")

    def measure_rpm(self) -> float:
        self._advance()
        return self.model.rpm_reading()

    def set_ir_led(self, intensity: float) -> None:
        self._advance()
        self.model.ir_led_intensity = max(0.0, min(100.0, intensity))

    def read_photodiodes(self, channels: dict[str, str]) -> dict[str, float]:
        self._advance()
        return {channel: self.model.photodiode_volts(angle) for channel, angle in channels.items()}

    def run_pump(self, pump: str, seconds: float, duty_cycle: float = 100.0) -> float:
        self._advance()
        return self.model.run_pump(pump, seconds, duty_cycle)

    def read_temperature(self) -> float:
        self._advance()
        return self.model.temperature_reading()

    def set_led(self, channel: str, intensity: float) -> None:
        if channel not in LED_CHANNELS:
            raise ValueError(f"unknown LED channel {channel!r} (channels: A, B, C, D)")
        self._advance()
        self.model.leds[channel] = max(0.0, min(100.0, intensity))

    def led_intensities(self) -> dict[str, float]:
        return dict(self.model.leds)

    def snapshot(self) -> CultureSnapshot:
        self._advance()
        m = self.model
        return CultureSnapshot(
            od=m.biomass_od,
            volume_ml=m.volume_ml,
            alt_media_fraction=m.alt_media_fraction,
            temperature_c=m.temperature_c,
            growth_rate_per_hour=m.specific_growth_rate() * m.params.speedup,
            rpm=m.rpm,
        )

    def load_vial(self, od: float, *, growing: bool = False) -> None:
        self._advance()
        self.model.load_vial(od, growing=growing)

    def _advance(self) -> None:
        now = self.clock.now()
        if self._last is not None:
            self.model.advance((now - self._last).total_seconds())
        self._last = now


class NoHardware:
    """A unit without bioreactor hardware (the leader, unless it is also a worker)."""

    def _refuse(self) -> NoReturn:
        raise RuntimeError("this unit has no bioreactor hardware")

    def set_pwm(self, device: str, duty_cycle: float) -> None:
        self._refuse()

    def measure_rpm(self) -> float:
        self._refuse()

    def set_ir_led(self, intensity: float) -> None:
        self._refuse()

    def read_photodiodes(self, channels: dict[str, str]) -> dict[str, float]:
        self._refuse()

    def run_pump(self, pump: str, seconds: float, duty_cycle: float = 100.0) -> float:
        self._refuse()

    def read_temperature(self) -> float:
        self._refuse()

    def set_led(self, channel: str, intensity: float) -> None:
        self._refuse()

    def led_intensities(self) -> dict[str, float]:
        self._refuse()

    def snapshot(self) -> CultureSnapshot:
        self._refuse()

    def load_vial(self, od: float, *, growing: bool = False) -> None:
        self._refuse()
