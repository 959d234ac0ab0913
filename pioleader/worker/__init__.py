"""The worker daemon: one process per unit, serving ``/unit_api`` over simulated hardware."""
