import time

from django.core.management.base import BaseCommand, CommandError

from activitylog import chain


class Command(BaseCommand):
    help = ("Walk the activity log's hash chain from its start (or the last purge's anchor) to its head; "
            "exit 1 naming the first broken link if an entry was altered, removed, inserted, written "
            "without the key or back-dated.")

    def add_arguments(self, parser):
        parser.add_argument("--head", metavar="HASH",
                            help="a head hash printed by an earlier run: also fail unless the chain holds it "
                                 "(catches removal of the newest entries)")

    def handle(self, *args, head=None, **options):
        started = time.perf_counter()
        result = chain.verify()
        elapsed = time.perf_counter() - started
        if result.broken is not None:
            raise CommandError(f"Activity log chain broken at {result.broken} "
                               f"({result.checked} entries before it check out).")
        if head and not _holds(head):
            raise CommandError(f"The chain no longer holds {head}: entries at its end were removed.")
        start = (f"the purge anchor after entry {result.anchor_id}" if result.anchor_id is not None
                 else "the genesis")
        self.stdout.write(f"Activity log chain intact: {result.checked} entries from {start} "
                          f"in {elapsed:.2f} s.")
        if result.keyed:
            keys = ", ".join(f"{count} with key {key_id!r}" for key_id, count in sorted(result.keyed.items()))
            self.stdout.write(f"Signed (HMAC-SHA256): {keys}; times never go backwards.")
        if result.unkeyed:
            self.stdout.write(f"Unkeyed: {result.unkeyed} entries up to entry {result.last_unkeyed_id}, "
                              "written before the log had a key, checked by their SHA-256 chain only.")
        self.stdout.write(f"Head: entry {result.head_id} {result.head}")


def _holds(entry_hash: str) -> bool:
    from activitylog.models import ActivityLogAnchor, ActivityLogEntry

    return (ActivityLogEntry.objects.filter(entry_hash=entry_hash).exists()
            or ActivityLogAnchor.objects.filter(last_purged_hash=entry_hash).exists())
