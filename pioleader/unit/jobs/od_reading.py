"""``od_reading``: read the photodiodes every ``interval`` seconds and publish the ODs."""

from __future__ import annotations

import configparser
import statistics
from collections.abc import Mapping
from typing import Any, ClassVar

from pioleader.clock import format_timestamp
from pioleader.unit.calibrations.models import ODCalibration
from pioleader.unit.calibrations.usage import active_od_calibrations, od_for_voltage
from pioleader.unit.jobs.base import BackgroundJob, Facts, JobRefused, Option, Setting

ANGLES = ("45", "90", "135", "180")


def photodiode_channels(config: configparser.ConfigParser) -> dict[str, str]:
    """Channel → angle (or REF) from ``[od_config.photodiode_channel]``; JobRefused if unusable."""
    section = "od_config.photodiode_channel"
    channels = {
        channel: angle.strip()
        for channel, angle in (config.items(section) if config.has_section(section) else [])
        if angle.strip()
    }
    if not any(angle in ANGLES for angle in channels.values()):
        raise JobRefused("No photodiode channel has an angle in [od_config.photodiode_channel].")
    bad = {ch: a for ch, a in channels.items() if a not in ANGLES and a != "REF"}
    if bad:
        raise JobRefused(f"Unknown photodiode angle(s) in config: {bad}.")
    return channels


class ODReading(BackgroundJob):
    job_name = "od_reading"
    help = "Measure optical density on the configured photodiode channels."
    published_settings: ClassVar[dict[str, Setting]] = {
        "first_od_obs_time": Setting("float"),
        "ir_led_intensity": Setting("float", settable=True, unit="%"),
        "interval": Setting("float", settable=True, unit="s"),
        "ods": Setting("json"),
        **{f"od{channel}": Setting("json") for channel in "1234"},
        **{f"raw_od{channel}": Setting("json") for channel in "1234"},
    }
    options: ClassVar[dict[str, Option]] = {
        "interval": Option("float", "Seconds between readings (default: 1/samples_per_second)."),
    }

    async def on_init(self) -> None:
        self.channels = photodiode_channels(self.context.config)
        rate = float(self.config_get("od_reading.config", "samples_per_second", "0.2"))
        interval = self.option("interval")
        await self.set_interval(float(interval) if interval is not None else 1.0 / rate)
        intensity = float(self.config_get("od_reading.config", "ir_led_intensity", "80"))
        await self.set_ir_led_intensity(intensity)
        # Active OD calibrations turn volts into OD600; read once, as upstream does at start.
        self.calibrations: dict[str, ODCalibration] = (
            await active_od_calibrations(
                self.context.calibrations,
                {ch: angle for ch, angle in self.channels.items() if angle in ANGLES},
            )
            if self.context.calibrations is not None
            else {}
        )

    async def set_interval(self, value: float) -> None:
        if value <= 0:
            raise ValueError("interval must be positive")
        await self.publish_setting("interval", float(value))

    async def set_ir_led_intensity(self, value: float) -> None:
        intensity = max(0.0, min(100.0, float(value)))
        self.context.hardware.set_ir_led(intensity)
        await self.publish_setting("ir_led_intensity", intensity)

    async def main(self) -> None:
        now = self.context.clock.now()
        await self.publish_setting("first_od_obs_time", now.timestamp())
        while True:
            await self.while_ready()
            await self._read_once()
            if not await self.pause(float(self.values["interval"])):
                return

    async def _read_in_the_dark(self) -> dict[str, float]:
        """Read the photodiodes with the other LEDs off if ``turn_off_leds_during_reading``
        (their light would add to the signal), restoring them at once after."""
        hardware = self.context.hardware
        section = "od_reading.config"
        lit = {ch: v for ch, v in hardware.led_intensities().items() if v > 0}
        if not lit or self.config_get(section, "turn_off_leds_during_reading", "1") in (
            "0",
            "False",
        ):
            return hardware.read_photodiodes(self.channels)
        for channel in lit:
            hardware.set_led(channel, 0.0)
        try:
            await self.pause(
                float(self.config_get(section, "duration_between_led_off_and_od_reading", "0.1"))
            )
            return hardware.read_photodiodes(self.channels)
        finally:
            for channel, intensity in lit.items():
                hardware.set_led(channel, intensity)

    async def _read_once(self) -> None:
        stamp = format_timestamp(self.context.clock.now())
        voltages = await self._read_in_the_dark()
        intensity = float(self.values["ir_led_intensity"])
        ods: dict[str, Any] = {
            channel: {
                "calibrated": int(channel in self.calibrations),
                "timestamp": stamp,
                "angle": angle,
                "od": self._od(channel, voltages[channel]),
                "channel": channel,
                "ir_led_intensity": intensity,
            }
            for channel, angle in self.channels.items()
            if angle != "REF"
        }
        for channel, reading in ods.items():
            # Uncalibrated: the OD is the raw reading, published under both names.
            await self.publish_setting(f"raw_od{channel}", reading)
            await self.publish_setting(f"od{channel}", reading)
        await self.publish_setting("ods", {"timestamp": stamp, "ods": ods})

    def _od(self, channel: str, voltage: float) -> float:
        calibration = self.calibrations.get(channel)
        return voltage if calibration is None else round(od_for_voltage(calibration, voltage), 6)

    async def on_sleeping(self) -> None:
        self.context.hardware.set_ir_led(0.0)

    async def on_ready_again(self) -> None:
        self.context.hardware.set_ir_led(float(self.values.get("ir_led_intensity", 0.0)))

    async def on_disconnected(self) -> None:
        self.context.hardware.set_ir_led(0.0)


class ODBlank(BackgroundJob):
    """``od_blank``: with media only in the vessel, the mean reading of each channel, published
    retained on ``od_blank/mean/<channel>``; the growth-rate filter subtracts it."""

    job_name = "od_blank"
    help = "Measure the OD of the media alone (the blank), per channel."
    # All channels' means in one retained setting, where the UI's Pioreactor cards read them.
    published_settings: ClassVar[dict[str, Setting]] = {"means": Setting("json", persist=True)}
    options: ClassVar[dict[str, Option]] = {
        "n_samples": Option("integer", "Readings averaged per channel.", 20),
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any], facts: Facts) -> str | None:
        n_samples = options.get("n_samples")
        if n_samples is not None and not 1 <= int(n_samples) <= 500:
            return f"options.n_samples must be between 1 and 500, got {n_samples}."
        return None

    async def on_init(self) -> None:
        self.channels = {
            ch: a for ch, a in photodiode_channels(self.context.config).items() if a != "REF"
        }
        intensity = float(self.config_get("od_reading.config", "ir_led_intensity", "80"))
        self.context.hardware.set_ir_led(intensity)

    async def main(self) -> None:
        samples: dict[str, list[float]] = {ch: [] for ch in self.channels}
        for _ in range(int(self.option("n_samples"))):
            for channel, volts in self.context.hardware.read_photodiodes(self.channels).items():
                samples[channel].append(volts)
            if not await self.pause(0.05):
                return
        stamp = format_timestamp(self.context.clock.now())
        means = {channel: statistics.fmean(values) for channel, values in samples.items()}
        await self.publish_setting("means", means)
        for channel, mean in means.items():
            await self.publish_data(
                f"od_blank/mean/{channel}",
                {
                    "timestamp": stamp,
                    "channel": channel,
                    "angle": self.channels[channel],
                    "od": mean,
                },
                retain=True,
            )
            await self.log("info", f"OD blank of channel {channel}: {mean:.6f} V.")
