from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from activitylog.services import purge


class Command(BaseCommand):
    help = ("Remove activity log entries older than ACTIVITY_LOG_RETENTION_DAYS and log the run; "
            "does nothing when no retention is set (keep forever).")

    def handle(self, *args, **options):
        days = settings.ACTIVITY_LOG_RETENTION_DAYS
        if days is None:
            self.stdout.write("ACTIVITY_LOG_RETENTION_DAYS is not set: entries are kept forever, "
                              "nothing was removed.")
            return
        if days < 0:
            raise CommandError(f"ACTIVITY_LOG_RETENTION_DAYS must be 0 or more, not {days}.")
        result = purge(retention_days=days)
        if result.anchor is None:
            self.stdout.write(f"No entries before {result.cutoff:%Y-%m-%d %H:%M:%S} UTC; "
                              "nothing was removed.")
        else:
            self.stdout.write(
                f"Removed {result.purged} entries before {result.cutoff:%Y-%m-%d %H:%M:%S} UTC "
                f"(up to entry {result.anchor.last_purged_id}); the chain now starts from its hash "
                f"{result.anchor.last_purged_hash}.")
        self.stdout.write(f"Logged as entry {result.entry.pk}.")
