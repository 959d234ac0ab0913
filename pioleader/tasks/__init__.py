"""Background tasks: ``202 Accepted`` now, the result later at ``/unit_api/task_results/<id>``."""

from pioleader.tasks.models import STILL_RUNNING, TaskAccepted, TaskState, TaskStatus
from pioleader.tasks.runner import TaskRunner
from pioleader.tasks.store import TaskStore, task_migrations

__all__ = [
    "STILL_RUNNING",
    "TaskAccepted",
    "TaskRunner",
    "TaskState",
    "TaskStatus",
    "TaskStore",
    "task_migrations",
]
