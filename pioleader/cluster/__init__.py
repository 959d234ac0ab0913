"""Reaching units: their addresses, the one HTTP client, and the one fan-out function."""

from pioleader.cluster.addresses import UnitDirectory
from pioleader.cluster.client import UnitClient, UnitRequest
from pioleader.cluster.envelopes import Envelope, EnvelopeError, UnitFailure, UnitSuccess
from pioleader.cluster.fanout import fanout

__all__ = [
    "Envelope",
    "EnvelopeError",
    "UnitClient",
    "UnitDirectory",
    "UnitFailure",
    "UnitRequest",
    "UnitSuccess",
    "fanout",
]
