"""The simulated bioreactor's physics: culture, liquid, heater and optics, without a clock.

``Bioreactor.advance(seconds)`` moves the model forward; the hardware backend calls it with the
wall-clock time elapsed since its last look. Biology runs ``speedup`` times faster than the
wall clock (so a demo shows a growth curve in minutes); heat and stirring run in real time.

Growth is substrate-limited (Monod) with a Baranyi lag and a cardinal-temperature factor
(Rosso's CTMI), so a batch shows lag, exponential phase and saturation at the media's yield,
and a chemostat settles where growth equals dilution. Alt media carries the same nutrients
plus an inhibitor; its fraction in the vessel slows growth (what a morbidostat doses against).
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field

ANGLES = ("45", "90", "135", "180")
LED_CHANNELS = ("A", "B", "C", "D")
PUMPS = ("media", "alt_media", "waste")
_MAX_STEP_BIO_SECONDS = 30.0


@dataclass(frozen=True)
class CultureParameters:
    """One unit's culture and vessel; seeded so that runs are reproducible."""

    seed: int
    initial_od: float = 0.05
    # OD the fresh media supports (yield × substrate); a batch saturates here.
    carrying_capacity: float = 2.5
    # Specific growth rate at the optimum temperature, in biological hours⁻¹.
    growth_rate_per_hour: float = 0.4
    half_saturation_od: float = 0.05
    lag_hours: float = 0.2
    t_min_c: float = 10.0
    t_opt_c: float = 37.0
    t_max_c: float = 45.0
    # Growth slows by this fraction when the vessel is all alt media.
    alt_media_inhibition: float = 0.8
    initial_volume_ml: float = 14.0
    efflux_tube_volume_ml: float = 14.0
    vessel_capacity_ml: float = 20.0
    # True pump flow at 100 % duty cycle, mL/s, per pump.
    pump_flow_ml_per_s: tuple[float, float, float] = (0.75, 0.75, 0.9)
    ambient_c: float = 22.0
    heater_gain_c: float = 20.0  # equilibrium rise above ambient at 100 % duty cycle
    heater_time_constant_s: float = 1200.0
    temperature_noise_c: float = 0.03
    rpm_per_duty_cycle: float = 22.0
    stall_duty_cycle: float = 8.0
    stirrer_time_constant_s: float = 1.5
    # Photodiode volts per OD at 100 % IR intensity, and blank offsets, per angle.
    optical_gain: tuple[float, float, float, float] = (0.045, 0.05, 0.03, 0.2)
    optical_offset: tuple[float, float, float, float] = (0.004, 0.003, 0.002, 0.01)
    reference_volts: float = 0.25
    noise: float = 0.004
    spike_probability: float = 0.0
    speedup: float = 1.0

    @classmethod
    def for_unit(
        cls, name: str, speedup: float = 1.0, *, capacity_ml: float = 20.0
    ) -> CultureParameters:
        """Each unit its own culture (strain, start, optics, pumps), the same every time."""
        seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
        draw = random.Random(seed)

        def spread(low: float, high: float) -> float:
            return round(draw.uniform(low, high), 4)

        return cls(
            seed=seed,
            initial_od=spread(0.04, 0.08),
            carrying_capacity=spread(2.0, 3.5),
            growth_rate_per_hour=spread(0.4, 0.8),
            lag_hours=spread(0.3, 1.0),
            t_opt_c=spread(33.0, 38.0),
            pump_flow_ml_per_s=(spread(0.6, 0.9), spread(0.6, 0.9), spread(0.8, 1.0)),
            ambient_c=spread(21.0, 24.0),
            heater_time_constant_s=spread(900.0, 1500.0),
            optical_gain=(spread(0.04, 0.05), spread(0.045, 0.06), spread(0.025, 0.035), 0.2),
            spike_probability=0.001,
            vessel_capacity_ml=capacity_ml,
            speedup=speedup,
        )


def cardinal_temperature_factor(temp_c: float, p: CultureParameters) -> float:
    """Rosso's cardinal temperature model with inflection: 1 at the optimum, 0 outside."""
    t_min, t_opt, t_max = p.t_min_c, p.t_opt_c, p.t_max_c
    if temp_c <= t_min or temp_c >= t_max:
        return 0.0
    numerator = (temp_c - t_max) * (temp_c - t_min) ** 2
    denominator = (t_opt - t_min) * (
        (t_opt - t_min) * (temp_c - t_opt) - (t_opt - t_max) * (t_opt + t_min - 2 * temp_c)
    )
    return max(0.0, numerator / denominator)


@dataclass
class Bioreactor:
    """The state of one vessel. All volumes in mL, ODs in the culture's true OD units."""

    params: CultureParameters
    biomass_od: float = 0.0
    substrate_od: float = 0.0  # growth the remaining nutrients can still support, in OD
    volume_ml: float = 0.0
    alt_media_fraction: float = 0.0
    temperature_c: float = 0.0
    heater_duty_cycle: float = 0.0
    stirrer_duty_cycle: float = 0.0
    rpm: float = 0.0
    ir_led_intensity: float = 0.0
    leds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LED_CHANNELS, 0.0))
    growing: bool = True
    _lag_q: float = 0.0  # Baranyi's physiological state; lag factor is q / (1 + q)

    def __post_init__(self) -> None:
        p = self.params
        self.random = random.Random(p.seed)
        if self.volume_ml == 0.0:
            self.biomass_od = p.initial_od
            self.substrate_od = p.carrying_capacity - p.initial_od
            self.volume_ml = p.initial_volume_ml
            self.temperature_c = p.ambient_c
        self._lag_q = 1.0 / max(math.expm1(p.growth_rate_per_hour * p.lag_hours), 1e-9)

    # -- time --------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the model ``seconds`` of wall-clock time forward."""
        if seconds <= 0:
            return
        self._advance_heat(seconds)
        self._advance_stirrer(seconds)
        bio_seconds = seconds * self.params.speedup
        while bio_seconds > 0:
            step = min(bio_seconds, _MAX_STEP_BIO_SECONDS)
            self._grow(step / 3600)
            bio_seconds -= step

    def specific_growth_rate(self) -> float:
        """The culture's growth rate now, per biological hour."""
        if not self.growing:
            return 0.0
        p = self.params
        nutrients = self.substrate_od / (p.half_saturation_od + self.substrate_od)
        lag = self._lag_q / (1 + self._lag_q)
        inhibition = 1 - p.alt_media_inhibition * self.alt_media_fraction
        temperature = cardinal_temperature_factor(self.temperature_c, p)
        return p.growth_rate_per_hour * nutrients * lag * inhibition * temperature

    def _grow(self, hours: float) -> None:
        rate = self.specific_growth_rate()
        if rate <= 0:
            return
        new_biomass = self.biomass_od * math.exp(rate * hours)
        grown = min(new_biomass - self.biomass_od, self.substrate_od)
        self.biomass_od += grown
        self.substrate_od -= grown
        self._lag_q *= math.exp(self.params.growth_rate_per_hour * hours)

    def _advance_heat(self, seconds: float) -> None:
        p = self.params
        target = p.ambient_c + p.heater_gain_c * self.heater_duty_cycle / 100
        blend = 1 - math.exp(-seconds / p.heater_time_constant_s)
        self.temperature_c += (target - self.temperature_c) * blend

    def _advance_stirrer(self, seconds: float) -> None:
        p = self.params
        duty = self.stirrer_duty_cycle
        target = 0.0 if duty < p.stall_duty_cycle else duty * p.rpm_per_duty_cycle
        blend = 1 - math.exp(-seconds / p.stirrer_time_constant_s)
        self.rpm += (target - self.rpm) * blend

    # -- liquid ------------------------------------------------------------------------------

    def pump_flow(self, pump: str, duty_cycle: float) -> float:
        """The pump's true flow, mL/s, at ``duty_cycle`` percent."""
        flow = self.params.pump_flow_ml_per_s[PUMPS.index(pump)]
        return flow * max(0.0, min(100.0, duty_cycle)) / 100

    def run_pump(self, pump: str, seconds: float, duty_cycle: float) -> float:
        """Run a pump; return the mL it moved. Waste stops taking liquid at the efflux tube."""
        if pump not in PUMPS:
            raise ValueError(f"unknown pump {pump!r} (pumps: {', '.join(PUMPS)})")
        moved = self.pump_flow(pump, duty_cycle) * max(0.0, seconds)
        if pump == "waste":
            removable = max(0.0, self.volume_ml - self.params.efflux_tube_volume_ml)
            self.volume_ml -= min(moved, removable)  # what is left of the run sucks air
        else:
            self.add_liquid(moved, alt_media=pump == "alt_media")
        return moved

    def add_liquid(self, ml: float, *, alt_media: bool) -> None:
        """Mix ``ml`` of fresh (alt) media in: dilutes biomass, feeds nutrients, shifts the
        alt-media fraction. Liquid beyond the vessel's capacity spills."""
        if ml <= 0:
            return
        total = self.volume_ml + ml
        keep = self.volume_ml / total
        self.biomass_od *= keep
        fresh = self.params.carrying_capacity if self.growing else 0.0
        self.substrate_od = self.substrate_od * keep + fresh * (1 - keep)
        self.alt_media_fraction = self.alt_media_fraction * keep + (1 - keep) * alt_media
        self.volume_ml = min(total, self.params.vessel_capacity_ml)

    def load_vial(self, od: float, *, growing: bool) -> None:
        """Replace the vessel's content with a suspension at ``od`` (e.g. a calibration
        standard, which does not grow)."""
        self.biomass_od = max(0.0, od)
        self.growing = growing
        self.substrate_od = self.params.carrying_capacity - od if growing else 0.0
        self.alt_media_fraction = 0.0

    # -- sensors -----------------------------------------------------------------------------

    def photodiode_volts(self, angle: str) -> float:
        """One photodiode reading, in volts, at ``angle`` (45/90/135/180) or REF."""
        p = self.params
        brightness = self.ir_led_intensity / 100
        if angle == "REF":
            return round(max(0.0, p.reference_volts * brightness * self._noise(0.1)), 7)
        index = ANGLES.index(angle)
        od = self.biomass_od
        if angle == "180":  # transmitted light falls as the culture thickens
            signal = p.optical_gain[index] * math.exp(-0.9 * od)
        else:  # scattered light grows with OD, nearly linearly below 1, and saturates past 3
            signal = p.optical_gain[index] * od / math.sqrt(1 + (od / 3) ** 2)
        stray = 0.0005 * sum(self.leds.values()) / 100  # white/UV LEDs left on leak light
        volts = brightness * (p.optical_offset[index] + signal) * self._noise(1.0) + stray
        if self.random.random() < p.spike_probability:
            volts *= 1.5
        return round(max(volts, 0.0), 7)

    def temperature_reading(self) -> float:
        return round(self.temperature_c + self.random.gauss(0, self.params.temperature_noise_c), 3)

    def rpm_reading(self) -> float:
        if self.rpm < 1.0:
            return 0.0
        return round(max(0.0, self.rpm + self.random.gauss(0, 2.0)), 1)

    def _noise(self, scale: float) -> float:
        return 1 + self.random.gauss(0, self.params.noise * scale)
