"""The leader's own event log: short messages published as Pioreactor log lines.

They go to ``pioreactor/<leader>/$experiment/logs/ui/<level>``, where the ingester stores them
and the UI's event log shows them (as upstream's web server logs do). Publishing is
fire-and-forget: a broker outage must not fail the request that caused the log line.
"""

from __future__ import annotations

import logging

from pioleader.bus import topics
from pioleader.bus.publisher import Bus
from pioleader.clock import Clock, format_timestamp
from pioleader.tasks import TaskRunner

logger = logging.getLogger("pioleader.audit")

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class AuditLog:
    def __init__(self, bus: Bus, tasks: TaskRunner, clock: Clock, leader: str) -> None:
        self._bus = bus
        self._tasks = tasks
        self._clock = clock
        self._leader = leader

    def log(self, message: str, *, level: str = "info") -> None:
        logger.log(_LEVELS.get(level, logging.INFO), message)
        payload = {
            "message": message,
            "task": f"pioreactor-{self._leader}-api",
            "source": "ui",
            "level": level.upper(),
            "timestamp": format_timestamp(self._clock.now()),
        }
        topic = topics.log(self._leader, topics.UNIVERSAL_EXPERIMENT, "ui", level)
        self._tasks.spawn("audit log", self._bus.publish(topic, payload, qos=1))
