"""The bus's outbox on a real broker: what a job publishes while mosquitto is away is sent, in
order, once it is back, and a full outbox gives up the oldest messages first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from pioleader.broker import Mosquitto
from pioleader.bus import MqttBus
from pioleader.settings import MqttSettings

SUBSCRIBER = "outbox-test-subscriber"


async def open_session(port: int) -> None:
    """Leave a persistent session subscribed to ``t/#`` that the broker queues messages for."""
    async with aiomqtt.Client("127.0.0.1", port, identifier=SUBSCRIBER, clean_session=False) as c:
        await c.subscribe("t/#", qos=1)


async def queued(port: int, count: int, *, within: float = 10.0) -> list[str]:
    """The first ``count`` messages the broker kept for the persistent session."""
    received: list[str] = []
    async with aiomqtt.Client("127.0.0.1", port, identifier=SUBSCRIBER, clean_session=False) as c:
        async with asyncio.timeout(within):
            async for message in c.messages:
                assert isinstance(message.payload, bytes)
                received.append(message.payload.decode())
                if len(received) == count:
                    break
    return received


async def until_sent(bus: MqttBus, *, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while bus.waiting:
        assert time.monotonic() < deadline, f"{bus.waiting} message(s) still waiting"
        await asyncio.sleep(0.02)


@pytest.fixture
async def job_bus(broker: Mosquitto) -> AsyncIterator[MqttBus]:
    bus = MqttBus(
        MqttSettings(host="127.0.0.1", port=broker.port),
        client_id="outbox-test-job",
        reconnect_delay=0.05,
        outbox=3,
    )
    await bus.start()
    assert await bus.wait_connected(10)
    yield bus
    await bus.stop()


async def test_messages_published_during_an_outage_arrive_in_order(
    broker: Mosquitto, job_bus: MqttBus
) -> None:
    """It should keep what it could not send and send it, oldest first, after a restart."""
    await open_session(broker.port)
    await job_bus.publish("t/reading", "before")
    await until_sent(job_bus)
    broker.stop()
    await job_bus.publish("t/reading", "during-1")
    await job_bus.publish("t/reading", "during-2")
    assert job_bus.waiting == 2
    broker.start()  # same port and persistence: the subscriber's session is still there
    await until_sent(job_bus)
    await job_bus.publish("t/reading", "after")
    assert await queued(broker.port, 4) == ["before", "during-1", "during-2", "after"]
    assert job_bus.dropped == 0


async def test_a_full_outbox_drops_the_oldest(broker: Mosquitto, job_bus: MqttBus) -> None:
    """It should bound its memory: beyond its size, the oldest waiting messages go."""
    await open_session(broker.port)
    broker.stop()
    for n in range(5):
        await job_bus.publish("t/reading", f"m{n}")
    assert job_bus.waiting == 3 and job_bus.dropped == 2
    broker.start()
    await until_sent(job_bus)
    assert await queued(broker.port, 3) == ["m2", "m3", "m4"]
