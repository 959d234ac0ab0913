"""Publishing a log entry the way a job does, so that the ingester stores it (§3.5)."""

from __future__ import annotations

from pioleader.api.logs.models import LogCreate
from pioleader.bus import topics
from pioleader.services import Services

LOG_QOS = 2  # Matches upstream: a log entry must arrive exactly once.


async def publish_log(services: Services, unit: str, experiment: str, body: LogCreate) -> None:
    """Publish to ``pioreactor/<unit>/<experiment>/logs/<source_>/<level>``.

    ``$broadcast`` becomes one message per worker assigned to the experiment; any other unit
    must be registered (400). Every topic is built before the first publish, so a bad name
    publishes nothing.
    """
    if unit == topics.BROADCAST:
        units = [
            worker.pioreactor_unit for worker in await services.assignments.workers_in(experiment)
        ]
    else:
        units = [await services.targets.require_unit(unit)]
    messages = [topics.log(name, experiment, body.source_, body.level) for name in units]
    payload = {
        "message": body.message.strip(),
        "task": body.task or "",
        "source": body.source,
        "level": body.level,
        "timestamp": body.timestamp,
    }
    for topic in messages:
        await services.bus.publish(topic, payload, qos=LOG_QOS)
