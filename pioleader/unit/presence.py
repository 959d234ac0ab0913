"""A unit's presence on MQTT, where the UI looks for it.

The UI shows a unit as alive, and its software version, from the retained topics of upstream's
``monitor`` job: ``pioreactor/<unit>/$experiment/monitor/$state`` (``ready``; ``lost`` when the
unit vanishes) and ``…/monitor/versions`` (JSON with ``app``). Every unit (the leader too)
announces them on its unit API's broker connection, which carries the ``lost`` last will, and
again after every reconnection, since a restarted broker may have lost them. A clean stop says
``disconnected``. The ``monitor`` job publishes the same topics while it runs (``pioleader up``
starts it on the workers); this makes sure that a unit which does not run it, the leader
usually, still shows as alive with its version.
"""

from __future__ import annotations

import contextlib
import json
import platform

from pioleader.bus import BusUnavailable, MqttBus, topics
from pioleader.bus.publisher import Will


def monitor_will(unit: str) -> Will:
    """What the broker says for the unit if its connection dies without a goodbye."""
    return Will(topics.monitor_setting(unit, "$state"), "lost", qos=1, retain=True)


class Presence:
    def __init__(self, bus: MqttBus, unit: str, version: str) -> None:
        self._bus = bus
        self._unit = unit
        self._version = version

    def start(self) -> None:
        """Announce the unit now (if connected) and after every reconnection."""
        self._bus.on_connect(self.announce)

    async def announce(self) -> None:
        versions = {
            "app": self._version,
            "ui": self._version,
            "firmware": "simulated",
            "rpi_machine": f"pioleader ({platform.machine() or 'unknown'})",
            "hat": "simulated",
        }
        with contextlib.suppress(BusUnavailable):
            await self._publish("versions", json.dumps(versions))
            await self._publish("$state", "ready")

    async def withdraw(self) -> None:
        with contextlib.suppress(BusUnavailable):
            await self._publish("$state", "disconnected")

    async def _publish(self, setting: str, payload: str) -> None:
        await self._bus.publish(
            topics.monitor_setting(self._unit, setting), payload, qos=1, retain=True
        )
