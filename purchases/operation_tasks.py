"""The worker's job for the partner's operations (django-tasks): send one, or ask Azure how it stands."""

from django_tasks import task


@task()
def advance_operation(operation_id: int) -> str:
    from .operations import advance

    operation = advance(operation_id)
    return "busy_or_not_due" if operation is None else operation.state
