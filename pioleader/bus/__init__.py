"""MQTT: every topic we publish to, and the publisher the leader uses."""

from pioleader.bus.publisher import Bus, BusUnavailable, MqttBus, Payload, Will
from pioleader.bus.recording import PublishedMessage, RecordingBus

__all__ = [
    "Bus",
    "BusUnavailable",
    "MqttBus",
    "Payload",
    "PublishedMessage",
    "RecordingBus",
    "Will",
]
