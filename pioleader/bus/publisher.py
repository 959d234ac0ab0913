"""Talking to the MQTT broker.

``MqttBus`` keeps one connection to mosquitto, reconnecting in the background when the broker
goes away; a publish waits briefly for the connection and then fails with a 503 rather than
hang a request. The leader uses it to publish; jobs also give it a last will, subscriptions and
a message handler, which are re-armed on every reconnection. Tests of handlers inject
``RecordingBus`` instead; integration tests use a real broker.

A bus built with an ``outbox`` hands every message to a bounded queue that one sender empties
in order, keeping what it could not send (the broker down or restarting) until it is connected
again. Jobs use one, so that they never wait for the broker and the readings they take during an
outage still reach the database; the leader does not, because a request that publishes must
learn at once that nothing was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt

from pioleader.errors import ApiError
from pioleader.settings import MqttSettings

logger = logging.getLogger("pioleader.bus")

Payload = str | bytes | int | float | dict[str, Any] | list[Any] | None


def encode(payload: Payload) -> bytes:
    """Strings go as they are; numbers and JSON values as JSON; None as an empty message."""
    if payload is None:
        return b""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload).encode("utf-8")


class BusUnavailable(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            503,
            "MQTT broker unavailable.",
            cause=detail,
            remediation="Check that mosquitto is running and that [mqtt] in config.ini points "
            "at it, then retry.",
        )


class Bus(Protocol):
    async def publish(
        self, topic: str, payload: Payload, *, qos: int = 1, retain: bool = False
    ) -> None: ...


MessageHandler = Callable[[str, bytes, bool], Awaitable[None]]


@dataclass(frozen=True)
class _Pending:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True)
class Will:
    """What the broker publishes for us if our connection dies without a goodbye."""

    topic: str
    payload: str
    qos: int = 2
    retain: bool = True


class MqttBus:
    """A long-lived, self-healing connection to the broker."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        publish_timeout: float = 2.0,
        reconnect_delay: float = 1.0,
        will: Will | None = None,
        on_message: MessageHandler | None = None,
        outbox: int = 0,
    ) -> None:
        self._settings = settings
        self._outbox: deque[_Pending] | None = deque(maxlen=outbox) if outbox > 0 else None
        self.dropped = 0  # messages pushed out of a full outbox
        self._waiting = asyncio.Event()  # set while the outbox holds something
        self._drained = asyncio.Event()  # set once the sender has sent everything
        self._drained.set()
        self._in_flight = 0
        self._sender: asyncio.Task[None] | None = None
        self._client_id = client_id
        self._will = will
        self._on_message = on_message
        self._subscriptions: dict[str, int] = {}
        self._publish_timeout = publish_timeout
        self._reconnect_delay = reconnect_delay
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._maintainer: asyncio.Task[None] | None = None
        self._connect_hooks: list[Callable[[], Awaitable[None]]] = []
        self._hook_tasks: set[asyncio.Task[None]] = set()

    def on_connect(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` after every (re)connection, e.g. to republish retained state that a
        broker restart or an outage may have lost. Runs at once if already connected."""
        self._connect_hooks.append(hook)
        if self._connected.is_set():
            self._spawn_hook(hook)

    async def start(self) -> None:
        self._maintainer = asyncio.create_task(self._maintain(), name="mqtt-bus")
        if self._outbox is not None:
            self._sender = asyncio.create_task(self._send_outbox(), name="mqtt-outbox")

    async def stop(self, *, drain_within: float = 2.0) -> None:
        """Disconnect, after sending what waits in the outbox (a job's last words: its final
        state) if the broker takes it within ``drain_within`` seconds."""
        if self._outbox is not None and self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain_within):
                    await self._drained.wait()
        if self._maintainer is not None:
            self._maintainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintainer
        for task in list(self._hook_tasks):
            task.cancel()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now (if connected) and after every reconnection."""
        self._subscriptions[topic] = qos
        client = self._client
        if client is not None and self._connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError):
                await client.subscribe(topic, qos=qos)

    async def wait_connected(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    async def publish(
        self, topic: str, payload: Payload, *, qos: int = 1, retain: bool = False
    ) -> None:
        message = _Pending(topic, encode(payload), qos, retain)
        if self._outbox is not None:
            # Never wait for the broker: a job's loop must go on measuring while a dead
            # connection is still being noticed. One sender sends in order, behind the caller.
            self._enqueue(message)
            return
        if not await self.wait_connected(self._publish_timeout):
            raise BusUnavailable(
                f"No connection to {self._settings.host}:{self._settings.port} within "
                f"{self._publish_timeout:g} s."
            )
        try:
            await self._send_or_raise(message)
        except aiomqtt.MqttError as error:
            raise BusUnavailable(f"Publishing to {topic} failed: {error}") from error

    @property
    def waiting(self) -> int:
        """How many messages wait in the outbox for the broker (the one in flight included)."""
        return len(self._outbox) + self._in_flight if self._outbox is not None else 0

    async def _send_or_raise(self, message: _Pending) -> None:
        client = self._client
        if client is None:
            raise aiomqtt.MqttError("not connected")
        await client.publish(
            message.topic,
            message.payload,
            qos=message.qos,
            retain=message.retain,
            timeout=self._publish_timeout,
        )

    async def _send(self, message: _Pending) -> bool:
        try:
            await self._send_or_raise(message)
        except aiomqtt.MqttError:
            return False
        return True

    def _enqueue(self, message: _Pending) -> None:
        assert self._outbox is not None
        if len(self._outbox) == self._outbox.maxlen:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning(
                    "MQTT outbox full (%d messages): %d oldest dropped so far",
                    self._outbox.maxlen,
                    self.dropped,
                )
        self._outbox.append(message)
        self._drained.clear()
        self._waiting.set()

    async def _send_outbox(self) -> None:
        """The one sender: whenever connected, send what waits, oldest first. A message that
        fails goes back to the front and waits for the next connection."""
        outbox = self._outbox
        assert outbox is not None
        while True:
            await self._waiting.wait()
            await self._connected.wait()
            # Taken out while in flight, so that a full outbox cannot drop it underneath us.
            message = outbox.popleft()
            self._in_flight = 1
            sent = await self._send(message)
            self._in_flight = 0
            if not sent:
                if len(outbox) == outbox.maxlen:
                    self.dropped += 1
                else:
                    outbox.appendleft(message)
                # The connection is dead or dying: give the maintainer time to notice.
                await asyncio.sleep(self._reconnect_delay)
            if not outbox and not self._in_flight:
                self._waiting.clear()
                self._drained.set()

    def _run_connect_hooks(self) -> None:
        for hook in self._connect_hooks:
            self._spawn_hook(hook)

    def _spawn_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._guarded(hook), name="mqtt-on-connect")
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    @staticmethod
    async def _guarded(hook: Callable[[], Awaitable[None]]) -> None:
        try:
            await hook()
        except Exception:
            logger.exception("an MQTT on-connect hook failed")

    def _aiomqtt_will(self) -> aiomqtt.Will | None:
        if self._will is None:
            return None
        return aiomqtt.Will(
            self._will.topic, self._will.payload, qos=self._will.qos, retain=self._will.retain
        )

    async def _dispatch(self, message: aiomqtt.Message) -> None:
        if self._on_message is None:
            return
        payload = message.payload if isinstance(message.payload, bytes) else b""
        try:
            await self._on_message(str(message.topic), payload, bool(message.retain))
        except Exception:
            logger.exception("handling a message on %s failed", message.topic)

    async def _maintain(self) -> None:
        announced_down = False
        while True:
            try:
                async with aiomqtt.Client(
                    self._settings.host,
                    self._settings.port,
                    identifier=self._client_id,
                    username=self._settings.username,
                    password=self._settings.password,
                    keepalive=15,
                    will=self._aiomqtt_will(),
                ) as client:
                    for topic, qos in list(self._subscriptions.items()):
                        await client.subscribe(topic, qos=qos)
                    self._client = client
                    self._connected.set()
                    if self._outbox:
                        logger.info("sending %d message(s) kept meanwhile", len(self._outbox))
                    self._run_connect_hooks()
                    if announced_down:
                        logger.info("MQTT broker is back")
                    announced_down = False
                    # Iterating messages is also how aiomqtt reports a lost connection.
                    async for message in client.messages:
                        await self._dispatch(message)
            except aiomqtt.MqttError as error:
                if not announced_down:
                    logger.warning("MQTT broker unreachable: %s; retrying", error)
                    announced_down = True
            finally:
                self._connected.clear()
                self._client = None
            await asyncio.sleep(self._reconnect_delay)
