"""The worker's poll: scheduled once, run by the worker, re-scheduled PURCHASES_POLL_MINUTES ahead."""

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from purchases.models import CustomerPurchase
from purchases.tasks import poll_purchases, schedule


@pytest.mark.django_db(transaction=True)  # the worker closes its database connections between tasks
def test_the_poll_is_scheduled_once_and_reschedules_itself(shop, settings):
    settings.PURCHASES_POLL_MINUTES = 5
    assert schedule() is True
    assert schedule() is False   # one waiting is enough, however many workers start
    shop.buy("reservation")
    call_command("db_worker", batch=True, interval=0)   # the worker runs what is due
    assert CustomerPurchase.objects.count() == 1
    waiting = DBTaskResult.objects.filter(task_path=poll_purchases.module_path, status=TaskResultStatus.READY)
    assert waiting.count() == 1   # the next poll, 5 minutes ahead
    assert 4 * 60 <= (waiting.get().run_after - DBTaskResult.objects.filter(
        task_path=poll_purchases.module_path, status=TaskResultStatus.SUCCESSFUL).get().finished_at
    ).total_seconds() <= 5 * 60 + 5
