"""The unit side of Pioreactor, shared by workers and the leader: the ``/unit_api``, the job
manager and its registry, the jobs, and the hardware interface."""
