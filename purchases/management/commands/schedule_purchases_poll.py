from django.core.management.base import BaseCommand

from purchases.tasks import schedule


class Command(BaseCommand):
    help = "Put the periodic purchases poll on the worker's queue, unless it is there already."

    def handle(self, *args, **options):
        if schedule():
            self.stdout.write("The purchases poll is scheduled; a worker runs it now, then every "
                              "PURCHASES_POLL_MINUTES.")
        else:
            self.stdout.write("The purchases poll is already scheduled.")
