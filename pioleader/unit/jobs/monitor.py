"""``monitor``: the unit's health, long-running (not stopped by "stop all"), under the
``$experiment`` placeholder. Publishes the computer's statistics, versions, the PWM rail's
voltage and its address at start and every ``[monitor.config] self_check_interval_hours``;
answers blink requests and notes manual dosing in the log."""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import Any, ClassVar

from pioleader import __version__
from pioleader.bus.topics import BROADCAST
from pioleader.clock import format_timestamp
from pioleader.unit.jobs.base import BackgroundJob, Setting

# The simulated HAT's PWM rail, in volts (a real one reads about 5 V).
SIMULATED_RAIL_VOLTS = 5.0


def computer_statistics(data_dir: str) -> dict[str, Any]:
    """Load, memory and disk use, as fractions and percentages (blocking: run in a thread)."""
    load_1m, _, _ = os.getloadavg()
    pages, free = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_AVPHYS_PAGES")
    disk = shutil.disk_usage(data_dir)
    return {
        "cpu_usage_percent": round(100 * load_1m / (os.cpu_count() or 1), 1),
        "memory_usage_percent": round(100 * (1 - free / pages), 1),
        "disk_usage_percent": round(100 * disk.used / disk.total, 1),
    }


class Monitor(BackgroundJob):
    job_name = "monitor"
    help = "Watch the unit's health and answer blink requests."
    long_running = True
    published_settings: ClassVar[dict[str, Setting]] = {
        "computer_statistics": Setting("json"),
        "button_down": Setting("boolean"),
        "versions": Setting("json", settable=True),
        "voltage_on_pwm_rail": Setting("json", unit="V"),
        "ipv4": Setting("string"),
    }

    async def on_init(self) -> None:
        self.every = 3600 * float(
            self.config_get("monitor.config", "self_check_interval_hours", "12")
        )
        self.blinks = 0
        await self.publish_setting("button_down", False)
        await self.publish_setting("versions", {"app": __version__, "hat": "simulated"})
        await self.publish_setting("ipv4", "127.0.0.1")
        for unit in (self.context.unit, BROADCAST):
            for request in ("flicker_led_with_error_code", "flicker_led_response_okay"):
                await self.listen(f"pioreactor/{unit}/+/monitor/{request}", self._on_blink)
        await self.listen(f"pioreactor/{self.context.unit}/+/dosing_events", self._on_dosing)

    async def main(self) -> None:
        while True:
            await self.while_ready()
            await self.self_check()
            if not await self.pause(self.every):
                return

    async def self_check(self) -> None:
        statistics = await asyncio.to_thread(computer_statistics, os.getcwd())
        await self.publish_setting("computer_statistics", statistics)
        await self.publish_setting(
            "voltage_on_pwm_rail",
            {
                "voltage": SIMULATED_RAIL_VOLTS,
                "timestamp": format_timestamp(self.context.clock.now()),
            },
        )
        if statistics["disk_usage_percent"] > 90:
            await self.log("warning", f"Disk is {statistics['disk_usage_percent']}% full.")

    async def _on_blink(self, topic: str, payload: bytes) -> None:
        self.blinks += 1
        await self.log("debug", f"Blinked the status LED ({topic.rsplit('/', 1)[1]}).")

    async def _on_dosing(self, topic: str, payload: bytes) -> None:
        if b'"manually"' in payload:
            await self.log("debug", "Manual dosing seen.")
