"""The worker's purchases job (django-tasks): a poll every PURCHASES_POLL_MINUTES, then the deliveries.

Like the Microsoft sync it re-enqueues itself; several workers may run it at once: each purchase is recorded
under its customer's row lock and unique keys, and each delivery is leased, so nothing is counted or sent
twice.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from .notifications import deliver_due
from .poll import poll


@task()
def poll_purchases(scheduled: bool = False) -> dict:
    try:
        result = poll()
        return {"customers": result.customers, "new": len(result.new), "errors": result.errors[:20],
                "deliveries": result.deliveries}
    finally:
        if scheduled:
            schedule(delay=timedelta(minutes=settings.PURCHASES_POLL_MINUTES))


@task()
def deliver_notifications() -> dict:
    return deliver_due()


def schedule(*, delay: timedelta = timedelta(0)) -> bool:
    """Enqueue the periodic poll unless one is waiting already; returns whether it enqueued one."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=poll_purchases.module_path, status=TaskResultStatus.READY,
                                          args_kwargs__kwargs__scheduled=True)
    if waiting.exists():
        return False
    poll_purchases.using(run_after=timezone.now() + delay).enqueue(scheduled=True)
    return True
