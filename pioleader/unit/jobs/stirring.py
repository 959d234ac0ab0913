"""``stirring``: keep the stirrer at ``target_rpm`` with a PI loop on the measured speed.

With ``enable_dodging_od`` and ``od_reading`` running, it dodges OD readings (jobs-and-
automations §1.8): ``pre_delay_duration`` seconds before each reading it switches to
``target_rpm_during_od_reading`` (0 stops the motor), and back to
``target_rpm_outside_od_reading`` once the reading (about a second) and ``post_delay_duration``
have passed. The readings' times come from od_reading's ``first_od_obs_time`` and ``interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from typing import ClassVar

from pioleader.clock import format_timestamp
from pioleader.unit.jobs.base import BackgroundJob, Option, Setting


class Stirring(BackgroundJob):
    job_name = "stirring"
    help = "Stir the culture at a target RPM (closed loop on the measured RPM)."
    published_settings: ClassVar[dict[str, Setting]] = {
        "target_rpm": Setting("float", settable=True, unit="RPM"),
        "measured_rpm": Setting("json", unit="RPM"),
        "duty_cycle": Setting("float", settable=True, unit="%"),
        "enable_dodging_od": Setting("boolean", settable=True),
        "currently_dodging_od": Setting("boolean"),
        "target_rpm_during_od_reading": Setting("float", settable=True, unit="RPM"),
        "target_rpm_outside_od_reading": Setting("float", settable=True, unit="RPM"),
    }
    options: ClassVar[dict[str, Option]] = {
        "target_rpm": Option("float", "Target speed in RPM (default: [stirring.config])."),
    }

    async def on_init(self) -> None:
        section = "stirring.config"
        configured = float(self.config_get(section, "initial_target_rpm", "500"))
        target = self.option("target_rpm")
        self.update_interval = float(
            self.config_get(section, "duration_between_updates_seconds", "23")
        )
        self.kp = float(self.config_get("stirring.pid", "Kp", "0.007"))
        self.ki = float(self.config_get("stirring.pid", "Ki", "0.0"))
        self._integral = 0.0
        await self.set_target_rpm(float(target) if target is not None else configured)
        await self.set_duty_cycle(float(self.config_get(section, "initial_duty_cycle", "15")))
        self.pre_delay = float(self.config_get(section, "pre_delay_duration", "1.5"))
        self.post_delay = float(self.config_get(section, "post_delay_duration", "0.5"))
        self.od: dict[str, str] = {}
        self._dodger: asyncio.Task[None] | None = None
        self._stopped_for_od = False
        await self.publish_setting("currently_dodging_od", False)
        for name, fallback in (("during", "0"), ("outside", str(self.values["target_rpm"]))):
            key = f"target_rpm_{name}_od_reading"
            await self.publish_setting(key, float(self.config_get(section, key, fallback)))
        enabled = self.config_get(section, "enable_dodging_od", "False").lower()
        await self.publish_setting("enable_dodging_od", enabled in ("1", "true", "yes", "on"))
        for setting in ("$state", "interval", "first_od_obs_time"):
            await self.listen(
                self.experiment_topic(f"od_reading/{setting}"), self._on_od, retained=True
            )

    async def set_enable_dodging_od(self, value: bool) -> None:
        await self.publish_setting("enable_dodging_od", bool(value))
        await self._update_dodging()

    async def _on_od(self, topic: str, payload: bytes) -> None:
        self.od[topic.rsplit("/", 1)[1]] = payload.decode("utf-8", "replace")
        await self._update_dodging()

    async def _update_dodging(self) -> None:
        """Start or stop dodging as ``enable_dodging_od`` and od_reading's state say."""
        od_running = self.od.get("$state") in ("init", "ready", "sleeping")
        timing = self.od.get("interval") and self.od.get("first_od_obs_time")
        wanted = bool(self.values.get("enable_dodging_od")) and od_running and bool(timing)
        if wanted and self._dodger is None:
            interval = json.loads(self.od["interval"])
            if interval - 1.0 <= self.pre_delay + self.post_delay:
                await self.log(
                    "error",
                    f"Cannot dodge OD readings {interval:g} s apart with pre/post delays of "
                    f"{self.pre_delay:g} s and {self.post_delay:g} s.",
                )
                return
            self._dodger = asyncio.create_task(self._dodge(), name="stirring:dodge")
            await self.publish_setting("currently_dodging_od", True)
        elif not wanted and self._dodger is not None:
            await self._stop_dodging()
            await self._outside_reading()

    async def _stop_dodging(self) -> None:
        if self._dodger is not None:
            self._dodger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dodger
            self._dodger = None
            await self.publish_setting("currently_dodging_od", False)

    async def _dodge(self) -> None:
        while True:
            try:
                first = float(json.loads(self.od["first_od_obs_time"]))
                interval = float(json.loads(self.od["interval"]))
            except ValueError:  # od_reading is ending: its settings are being cleared
                return
            now = self.context.clock.now().timestamp()
            upcoming = first + math.ceil((now + self.pre_delay - first) / interval) * interval
            if not await self.pause(max(0.0, upcoming - self.pre_delay - now)):
                return
            await self._during_reading()
            if not await self.pause(self.pre_delay + 1.0 + self.post_delay):
                return
            await self._outside_reading()

    async def _during_reading(self) -> None:
        during = float(self.values["target_rpm_during_od_reading"])
        await self.set_target_rpm(during)
        if during == 0:
            self._stopped_for_od = True
            self.context.hardware.set_pwm("stirring", 0.0)

    async def _outside_reading(self) -> None:
        await self.set_target_rpm(float(self.values["target_rpm_outside_od_reading"]))
        if self._stopped_for_od and self.state == "ready":
            self.context.hardware.set_pwm("stirring", float(self.values["duty_cycle"]))
        self._stopped_for_od = False

    async def set_target_rpm(self, value: float) -> None:
        await self.publish_setting("target_rpm", max(0.0, min(5000.0, float(value))))

    async def set_duty_cycle(self, value: float) -> None:
        duty_cycle = round(max(0.0, min(100.0, float(value))), 5)
        if self.state != "sleeping" and not getattr(self, "_stopped_for_od", False):
            self.context.hardware.set_pwm("stirring", duty_cycle)
        await self.publish_setting("duty_cycle", duty_cycle)

    async def main(self) -> None:
        delay = min(6.0, self.update_interval)  # a first look soon after start, then regularly
        while await self.pause(delay):
            await self.while_ready()
            if not self._stopped_for_od:  # a stopped motor says nothing about the loop
                await self._control_step()
            delay = self.update_interval

    async def _control_step(self) -> None:
        measured = self.context.hardware.measure_rpm()
        await self.publish_setting(
            "measured_rpm",
            {"measured_rpm": measured, "timestamp": format_timestamp(self.context.clock.now())},
        )
        error = float(self.values["target_rpm"]) - measured
        self._integral += error * self.update_interval
        adjustment = self.kp * error + self.ki * self._integral
        await self.set_duty_cycle(float(self.values["duty_cycle"]) + adjustment)

    async def on_sleeping(self) -> None:
        self.context.hardware.set_pwm("stirring", 0.0)

    async def on_ready_again(self) -> None:
        self.context.hardware.set_pwm("stirring", float(self.values.get("duty_cycle", 0.0)))

    async def on_disconnected(self) -> None:
        if hasattr(self, "_dodger"):
            await self._stop_dodging()
        self.context.hardware.set_pwm("stirring", 0.0)
