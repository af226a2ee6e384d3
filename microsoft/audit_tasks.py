"""The worker's import of Partner Center's activity log (django-tasks, as the Microsoft sync is scheduled):
it re-enqueues itself MICROSOFT_AUDIT_IMPORT_HOURS ahead (Partner Center keeps 90 days; at least daily).
Two imports at once are safe: each window's writes serialise on the import's row lock and every record id is
unique (audit_import.py)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from .audit_import import run_import


@task()
def import_audit_records(scheduled: bool = False) -> dict:
    try:
        result = run_import()
        return {"outcome": result.outcome, "run": result.run.pk, "imported": result.imported}
    finally:
        if scheduled:
            schedule(delay=timedelta(hours=settings.MICROSOFT_AUDIT_IMPORT_HOURS))


def schedule(*, delay: timedelta = timedelta(0)) -> bool:
    """Enqueue the periodic import unless one is waiting already; returns whether it enqueued one."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=import_audit_records.module_path,
                                          status=TaskResultStatus.READY, args_kwargs__kwargs__scheduled=True)
    if waiting.exists():
        return False
    import_audit_records.using(run_after=timezone.now() + delay).enqueue(scheduled=True)
    return True
