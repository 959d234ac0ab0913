"""A receive-only MQTT 3.1.1 subscriber on an asyncio protocol, for the ingester's data path.

Why not ``MqttBus``/aiomqtt: paho handles one packet per socket event and sends one PUBACK per
system call, and aiomqtt adds a queue and a task per message; on a Raspberry-Pi-class leader
that caps ingestion at a few thousand messages a second (measured: ~2,000/s through aiomqtt,
~8,000/s with paho and a handler that does nothing). This protocol parses every PUBLISH in a
received chunk, hands each to a synchronous handler, and answers them all with one write.

It does only what the ingester needs: CONNECT with a persistent session (clean session off, a
stable client id, optional credentials), one SUBSCRIBE of every topic, PUBLISH at QoS 0/1 (and
2, answered PUBREC/PUBCOMP), PINGREQ for keep-alive, and reconnection with a fixed delay. The
broker keeps the session's subscriptions and queues QoS 1 messages while we are away.
Publishing (the ingester's ``$state`` and stats) stays on ``MqttBus``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Sequence

from pioleader.settings import MqttSettings

logger = logging.getLogger("pioleader.ingester.mqtt")

Handler = Callable[[str, bytes, bool], None]

_CONNECT, _CONNACK, _PUBLISH, _PUBACK, _PUBREC, _PUBREL, _PUBCOMP = 1, 2, 3, 4, 5, 6, 7
_SUBSCRIBE, _SUBACK, _PINGREQ, _PINGRESP = 8, 9, 12, 13


class MqttProtocolError(Exception):
    """The broker refused us or said something we do not understand."""


def _length(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _length(len(body)) + body


def connect_packet(settings: MqttSettings, client_id: str, keepalive: int) -> bytes:
    flags = 0  # clean session off: the broker keeps our subscriptions and queue
    payload = _string(client_id)
    if settings.username is not None:
        flags |= 0x80
        payload += _string(settings.username)
        if settings.password is not None:
            flags |= 0x40
            payload += _string(settings.password)
    header = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    return _packet(_CONNECT << 4, header + payload)


def subscribe_packet(packet_id: int, topics: Sequence[str], qos: int) -> bytes:
    body = struct.pack("!H", packet_id) + b"".join(_string(t) + bytes([qos]) for t in topics)
    return _packet((_SUBSCRIBE << 4) | 0x02, body)


class _Protocol(asyncio.Protocol):
    def __init__(self, on_message: Handler) -> None:
        self._on_message = on_message
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.connack: asyncio.Future[bool] = loop.create_future()
        self.suback: asyncio.Future[bytes] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.last_heard = loop.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.connack, self.suback):
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        self._buffer += data
        replies = bytearray()
        try:
            consumed = self._parse(replies)
        except MqttProtocolError as error:
            logger.error("MQTT protocol error: %s", error)
            assert self.transport is not None
            self.transport.abort()
            return
        del self._buffer[:consumed]
        if replies and self.transport is not None:
            self.transport.write(bytes(replies))

    def _parse(self, replies: bytearray) -> int:
        """Handle every complete packet in the buffer; return how many bytes they took."""
        buffer, position, size = self._buffer, 0, len(self._buffer)
        while position + 2 <= size:
            first = buffer[position]
            length, multiplier, index = 0, 1, position + 1
            while True:
                if index >= size:
                    return position
                byte = buffer[index]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                index += 1
                if not byte & 0x80:
                    break
                if multiplier > 128**3:
                    raise MqttProtocolError("malformed remaining length")
            end = index + length
            if end > size:
                return position
            self._packet(first, bytes(buffer[index:end]), replies)
            position = end
        return position

    def _packet(self, first: int, body: bytes, replies: bytearray) -> None:
        kind = first >> 4
        if kind == _PUBLISH:
            qos = (first >> 1) & 0x03
            (topic_length,) = struct.unpack_from("!H", body)
            topic = body[2 : 2 + topic_length].decode("utf-8", "replace")
            start = 2 + topic_length
            if qos:
                packet_id = body[start : start + 2]
                start += 2
                # QoS 1 is acknowledged at once, as paho does; QoS 2 (never granted to our
                # QoS 1 subscriptions) gets its PUBREC.
                replies += bytes([_PUBACK << 4 if qos == 1 else _PUBREC << 4, 2]) + packet_id
            self._on_message(topic, body[start:], bool(first & 0x01))
        elif kind == _PUBREL:
            replies += bytes([_PUBCOMP << 4, 2]) + body[:2]
        elif kind == _CONNACK:
            if len(body) < 2 or body[1] != 0:
                code = body[1] if len(body) > 1 else -1
                raise MqttProtocolError(f"the broker refused the connection (code {code})")
            if not self.connack.done():
                self.connack.set_result(bool(body[0] & 0x01))
        elif kind == _SUBACK:
            if not self.suback.done():
                self.suback.set_result(body[2:])
        elif kind not in (_PINGRESP, _PUBACK, _PUBCOMP):
            raise MqttProtocolError(f"unexpected packet type {kind}")


class MqttReceiver:
    """Keeps one subscribing connection up, reconnecting after any failure."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        subscriptions: Sequence[str],
        on_message: Handler,
        qos: int = 1,
        keepalive: int = 15,
        reconnect_delay: float = 1.0,
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._subscriptions = tuple(subscriptions)
        self._on_message = on_message
        self._qos = qos
        self._keepalive = keepalive
        self._reconnect_delay = reconnect_delay
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._maintain(), name="ingester-mqtt")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_connected(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    async def _maintain(self) -> None:
        announced_down = False
        while True:
            try:
                await self._session()
            except (OSError, TimeoutError, MqttProtocolError) as error:
                if not announced_down:
                    logger.warning("MQTT broker unreachable: %s; retrying", error)
                    announced_down = True
            else:
                logger.warning("MQTT connection lost; reconnecting")
                announced_down = True
            await asyncio.sleep(self._reconnect_delay)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(
            lambda: _Protocol(self._on_message), self._settings.host, self._settings.port
        )
        try:
            transport.write(connect_packet(self._settings, self._client_id, self._keepalive))
            async with asyncio.timeout(10):
                await protocol.connack
                transport.write(subscribe_packet(1, self._subscriptions, self._qos))
                granted = await protocol.suback
            if any(code == 0x80 for code in granted):
                raise MqttProtocolError(f"the broker refused a subscription: {granted.hex()}")
            self._connected.set()
            logger.info("subscribed to %d topic filters", len(self._subscriptions))
            await self._keep_alive(transport, protocol)
        finally:
            self._connected.clear()
            transport.close()

    async def _keep_alive(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        """Ping at half the keep-alive; give up on a broker silent for 1.5 keep-alives."""
        loop = asyncio.get_running_loop()
        while not protocol.closed.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._keepalive / 2):
                    await asyncio.shield(protocol.closed)
            if protocol.closed.done():
                return
            if loop.time() - protocol.last_heard > 1.5 * self._keepalive:
                transport.abort()
                return
            transport.write(bytes([_PINGREQ << 4, 0]))
