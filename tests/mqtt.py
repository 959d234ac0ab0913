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


class Collector:
    """Every message on a topic filter from when it is entered, for later assertions."""

    def __init__(self, port: int, topic: str) -> None:
        self.port, self.topic = port, topic
        self.messages: list[tuple[str, Any]] = []
        self._client = aiomqtt.Client("127.0.0.1", port)
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        await self._client.__aenter__()
        await self._client.subscribe(self.topic, qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._reader is not None
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for message in self._client.messages:
            if not message.retain:
                self.messages.append((str(message.topic), _decode(message.payload)))

    def payloads(self) -> list[Any]:
        return [payload for _, payload in self.messages]

    async def until(self, count: int, *, within: float = 10.0) -> list[Any]:
        """The payloads once at least ``count`` have arrived (fails after ``within`` s)."""
        deadline = time.monotonic() + within
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)}/{count} messages on {self.topic}")
            await asyncio.sleep(0.02)
        return self.payloads()
