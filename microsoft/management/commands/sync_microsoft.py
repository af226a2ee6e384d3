import uuid

from django.core.management.base import BaseCommand, CommandError

from microsoft.models import SyncRun
from microsoft.sync import KINDS, SyncRunning, run_sync

LABELS = {"customers": "customers", "subscriptions": "subscriptions",
          "azure_subscriptions": "Azure subscriptions", "role_assignments": "role assignments"}


class Command(BaseCommand):
    help = "Run one Microsoft sync now (Partner Center customers and subscriptions, Azure Owners)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", metavar="TENANT_ID", help="sync only this customer")

    def handle(self, *args, customer=None, **options):
        if customer:
            try:
                customer = str(uuid.UUID(customer))
            except ValueError:
                raise CommandError(f"{customer!r} is not a tenant id (a GUID).") from None
        try:
            result = run_sync(customer=customer)
        except SyncRunning as exc:
            raise CommandError(str(exc)) from None
        counts, stats = result.counts, result.stats
        for kind in KINDS:
            self.stdout.write(f"{LABELS[kind]:<20} {counts.added[kind]:>7} added {counts.changed[kind]:>7} "
                              f"changed {counts.removed[kind]:>7} removed")
        self.stdout.write(f"customers seen {counts.customers_seen}, errors {counts.errors}, "
                          f"rows written {counts.rows_written}")
        self.stdout.write(f"requests {stats.requests}, answered 429: {stats.throttled}, "
                          f"retries {stats.retries}, {result.seconds:.1f} seconds")
        run = result.run
        for error in run.errors.order_by("id")[:20]:
            where = f"customer {error.customer_tenant_id}: " if error.customer_tenant_id else ""
            code = f" [{error.error_code}]" if error.error_code else ""
            request = f" (request id {error.request_id})" if error.request_id else ""
            self.stderr.write(f"error: {where}{error.message}{code}{request}")
        if run.outcome == SyncRun.Outcome.NEEDS_RECONNECTING:
            raise CommandError(
                "Microsoft refused the credentials: the connection needs reconnecting. Sign in again as an "
                "Admin agent with MFA to get a new refresh token (README, Connected to Microsoft), then "
                f"run manage.py connect_microsoft. Microsoft said: {run.message}")
        if run.outcome == SyncRun.Outcome.FAILED:
            raise CommandError(f"The Microsoft sync failed: {run.message}")
        self.stdout.write(f"outcome: {run.get_outcome_display()}")
