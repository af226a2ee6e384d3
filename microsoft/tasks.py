"""The worker's jobs (django-tasks, database backend): the periodic sync and Sync now.

The worker is `manage.py db_worker` (django-tasks-db); several may share the queue on several machines.
The periodic sync re-enqueues itself MICROSOFT_SYNC_MINUTES ahead; the sync lock keeps two from ever
running at once, whoever enqueued them.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from .sync import SyncRunning, run_sync


@task()
def sync_microsoft(customer: str | None = None, scheduled: bool = False) -> dict:
    try:
        try:
            result = run_sync(customer=customer)
        except SyncRunning as exc:
            return {"outcome": "already_running", "message": str(exc)}
        return {"outcome": result.outcome, "run": result.run.pk}
    finally:
        if scheduled:
            schedule(delay=timedelta(minutes=settings.MICROSOFT_SYNC_MINUTES))
        _wake_if_waiting()


def _pending_scheduled():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=sync_microsoft.module_path, status=TaskResultStatus.READY,
        args_kwargs__kwargs__scheduled=True)


def schedule(*, delay: timedelta = timedelta(0)) -> bool:
    """Enqueue the periodic sync unless one is waiting already; returns whether it enqueued one."""
    if _pending_scheduled().exists():
        return False
    sync_microsoft.using(run_after=timezone.now() + delay).enqueue(scheduled=True)
    return True


def sync_now(*, customer: str | None = None) -> None:
    """Sync now, through the worker's queue (the Sync now buttons)."""
    sync_microsoft.enqueue(customer=customer)


# --- the outbox (issue 11): changes for Microsoft, applied by the same worker -------------------------

@task()
def apply_outbox() -> dict:
    """Apply what is due in the outbox, then come back when the next waiting change is due."""
    from outbox.worker import drain, next_due

    try:
        attempts = drain()
    finally:
        upcoming = next_due()
        if upcoming is not None:
            wake_outbox(at=max(upcoming, timezone.now()))
    return {"attempts": attempts}


def _pending_outbox_run(at):
    from django.db.models import Q
    from django_tasks_db.models import DBTaskResult, get_date_max

    waiting = DBTaskResult.objects.filter(task_path=apply_outbox.module_path, status=TaskResultStatus.READY)
    return waiting.filter(Q(run_after__lte=at) | Q(run_after=get_date_max())).exists()


def wake_outbox(*, at=None) -> None:
    """Make sure a worker looks at the outbox by ``at`` (now by default), without piling up runs."""
    at = at or timezone.now()
    if not _pending_outbox_run(at):
        apply_outbox.using(run_after=at).enqueue()


def listen_to_the_outbox() -> None:
    from outbox.services import on_enqueue

    on_enqueue(wake_outbox)


def _wake_if_waiting() -> None:
    """After each sync: changes left waiting (a worker that died, a restart) get a run of their own."""
    from outbox.worker import next_due

    upcoming = next_due()
    if upcoming is not None:
        wake_outbox(at=max(upcoming, timezone.now()))
