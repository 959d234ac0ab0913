"""The MQTT → SQLite ingester (upstream's ``mqtt_to_db_streaming``): ``pioleader ingester``."""

from pioleader.ingester.service import Ingester, run_ingester
from pioleader.ingester.store import Status, load_status

__all__ = ["Ingester", "Status", "load_status", "run_ingester"]
