"""pioleader: a leader for Pioreactor clusters.

It serves the Pioreactor leader HTTP API (``/api``) and the leader's own unit API (``/unit_api``),
keeps every reading in SQLite, talks to units over HTTP and to jobs over MQTT, and ships a
simulated cluster so that the whole system runs on one machine.
"""

__version__ = "0.1.0"
