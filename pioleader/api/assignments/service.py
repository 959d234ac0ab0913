"""What follows a change of assignment: the retained MQTT message units watch.

The database is the truth. If the broker is down when an assignment changes, the change still
succeeds and the message is published when the leader reconnects (``republish_assignments``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from pioleader.api.assignments.models import AssignmentMessage
from pioleader.bus import BusUnavailable, topics
from pioleader.clock import format_timestamp
from pioleader.services import Services

logger = logging.getLogger("pioleader.assignments")


async def publish_assignment(
    services: Services,
    unit: str,
    experiment: str | None,
    assigned_at: str | None,
    now: datetime,
) -> None:
    """Publish (retained) which experiment ``unit`` is in; null fields mean unassigned."""
    message = AssignmentMessage(
        pioreactor_unit=unit,
        experiment=experiment,
        assigned_at=assigned_at,
        updated_at=format_timestamp(now),
    )
    try:
        await services.bus.publish(
            topics.assignment(unit), message.model_dump(), qos=1, retain=True
        )
    except BusUnavailable as error:
        logger.warning("assignment of %s unpublished (%s); sent on reconnect", unit, error.cause)


async def publish_unassigned(services: Services, units: Iterable[str], now: datetime) -> None:
    for unit in units:
        await publish_assignment(services, unit, None, None, now)


async def republish_assignments(services: Services) -> None:
    """Publish every worker's current assignment (after a broker restart or outage)."""
    now = services.clock.now()
    for unit, experiment, assigned_at in await services.assignments.current():
        await publish_assignment(services, unit, experiment, assigned_at, now)
