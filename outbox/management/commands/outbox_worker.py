"""Apply queued changes in Microsoft: ``manage.py outbox_worker [--once] [--interval 1]``.

Several may run at once, on several machines: the lease keeps each change to one worker at a time.
"""

import time

from django.core.management.base import BaseCommand

from outbox.worker import drain, worker_name


class Command(BaseCommand):
    help = "Apply the changes queued for Microsoft (the outbox)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is due, then stop.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between looks.")

    def handle(self, *args, once: bool = False, interval: float = 1.0, **options):
        worker = worker_name()
        while True:
            attempts = drain(worker=worker)
            if once:
                self.stdout.write(f"{attempts} attempts")
                return
            time.sleep(max(0.05, interval))
