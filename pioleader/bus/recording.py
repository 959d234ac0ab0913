"""A bus that records what would have been published: for tests of handlers and for tools
that want to see what an API call publishes without a broker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pioleader.bus.publisher import Payload, encode


@dataclass(frozen=True)
class PublishedMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class RecordingBus:
    def __init__(self) -> None:
        self.messages: list[PublishedMessage] = []

    async def publish(
        self, topic: str, payload: Payload, *, qos: int = 1, retain: bool = False
    ) -> None:
        self.messages.append(PublishedMessage(topic, encode(payload), qos, retain))

    def retained(self) -> dict[str, bytes]:
        """The retained value of every topic, as a broker would hold it."""
        state: dict[str, bytes] = {}
        for message in self.messages:
            if message.retain:
                if message.payload:
                    state[message.topic] = message.payload
                else:
                    state.pop(message.topic, None)
        return state

    def on(self, topic: str) -> list[PublishedMessage]:
        return [message for message in self.messages if message.topic == topic]
