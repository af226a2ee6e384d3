from django.core.management.base import BaseCommand, CommandError

from microsoft.audit_import import OLDEST_DAY, run_import
from microsoft.models import AuditImportRun


class Command(BaseCommand):
    help = ("Import Partner Center's activity log (audit records) now: from where the last import stopped "
            "(the last 90 days the first time), in windows of at most 30 days.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, metavar="N",
                            help=f"import the last N days (1 to {OLDEST_DAY + 1}), whatever was imported "
                                 "before; records already imported are not written again")

    def handle(self, *args, days=None, **options):
        if days is not None and not 1 <= days <= OLDEST_DAY + 1:
            raise CommandError(f"--days must be between 1 and {OLDEST_DAY + 1}: Partner Center keeps "
                               "90 days.")
        result = run_import(days=days)
        run, counts = result.run, result.run.counts
        for start, end in result.windows:
            failed = run.failed_window_start == start
            self.stdout.write(f"window {start} to {end}{': FAILED, nothing written' if failed else ''}")
            if failed:
                break
        if counts.get("lostFrom"):
            self.stderr.write(f"warning: the import had not run for more than 90 days; Partner Center no "
                              f"longer has the records from {counts['lostFrom']} to before {counts['from']}.")
        self.stdout.write(f"records fetched {result.fetched}, imported {result.imported}, already imported "
                          f"{result.duplicates}, not records {result.skipped}")
        self.stdout.write(f"requests {counts['requests']} ({result.pages} pages), answered 429: "
                          f"{result.stats.throttled}, retries {result.stats.retries}, "
                          f"{result.seconds:.1f} seconds")
        self.stdout.write(f"imported through {run.imported_through or 'nothing yet'}")
        if run.outcome == AuditImportRun.Outcome.NEEDS_RECONNECTING:
            raise CommandError("Microsoft refused the credentials: the connection needs reconnecting. "
                               f"{run.message}")
        if run.outcome == AuditImportRun.Outcome.FAILED:
            where = (f" (window {run.failed_window_start} to {run.failed_window_end})"
                     if run.failed_window_start else "")
            code = f" [{run.error_code}]" if run.error_code else ""
            request = f" (request id {run.request_id})" if run.request_id else ""
            raise CommandError(f"The import stopped{where}: {run.message}{code}{request}. The next import "
                               "starts there again.")
        self.stdout.write(f"outcome: {run.get_outcome_display()}")
