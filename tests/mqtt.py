"""Reading and writing MQTT in tests, against the real broker, with deadlines (no sleeps to
wait for things)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiomqtt


def _decode(payload: object) -> Any:
    """JSON where the payload is JSON (numbers, objects), else the text (``ready``)."""
    text = payload.decode() if isinstance(payload, bytes) else str(payload)
    try:
        return json.loads(text)
    except ValueError:
        return text


async def retained(port: int, topic: str, *, until: Any = None, within: float = 10.0) -> Any:
    """The retained JSON payload on ``topic`` (waiting until ``until(payload)`` holds)."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        try:
            async with aiomqtt.Client("127.0.0.1", port) as client:
                await client.subscribe(topic, qos=1)
                async with asyncio.timeout(1.0):
                    async for message in client.messages:
                        last = _decode(message.payload)
                        break
        except (TimeoutError, aiomqtt.MqttError):
            pass
        if last is not None and (until is None or until(last)):
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"no retained message on {topic} satisfying the condition; last={last}")


async def publish(port: int, topic: str, payload: str, *, retain: bool = False) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1, retain=retain)
