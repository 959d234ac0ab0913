"""``od_reading``: read the photodiodes every ``interval`` seconds and publish the ODs."""

from __future__ import annotations

from typing import Any, ClassVar

from pioleader.clock import format_timestamp
from pioleader.unit.calibrations.models import ODCalibration
from pioleader.unit.calibrations.usage import active_od_calibrations, od_for_voltage
from pioleader.unit.jobs.base import BackgroundJob, JobRefused, Option, Setting

ANGLES = ("45", "90", "135", "180")


class ODReading(BackgroundJob):
    job_name = "od_reading"
    help = "Measure optical density on the configured photodiode channels."
    published_settings: ClassVar[dict[str, Setting]] = {
        "first_od_obs_time": Setting("float"),
        "ir_led_intensity": Setting("float", settable=True, unit="%"),
        "interval": Setting("float", settable=True, unit="s"),
        "ods": Setting("json"),
        **{f"od{channel}": Setting("json") for channel in "1234"},
    }
    options: ClassVar[dict[str, Option]] = {
        "interval": Option("float", "Seconds between readings (default: 1/samples_per_second)."),
    }

    async def on_init(self) -> None:
        config = self.context.config
        section = "od_config.photodiode_channel"
        self.channels = {
            channel: angle.strip()
            for channel, angle in (config.items(section) if config.has_section(section) else [])
            if angle.strip()
        }
        signal = {ch: angle for ch, angle in self.channels.items() if angle in ANGLES}
        if not signal:
            raise JobRefused(
                "No photodiode channel has an angle in [od_config.photodiode_channel]."
            )
        bad = {ch: a for ch, a in self.channels.items() if a not in ANGLES and a != "REF"}
        if bad:
            raise JobRefused(f"Unknown photodiode angle(s) in config: {bad}.")
        rate = float(self.config_get("od_reading.config", "samples_per_second", "0.2"))
        interval = self.option("interval")
        await self.set_interval(float(interval) if interval is not None else 1.0 / rate)
        intensity = float(self.config_get("od_reading.config", "ir_led_intensity", "80"))
        await self.set_ir_led_intensity(intensity)
        # Active OD calibrations turn volts into OD600; read once, as upstream does at start.
        self.calibrations: dict[str, ODCalibration] = (
            await active_od_calibrations(self.context.calibrations, signal)
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

    async def _read_once(self) -> None:
        stamp = format_timestamp(self.context.clock.now())
        voltages = self.context.hardware.read_photodiodes(self.channels)
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
