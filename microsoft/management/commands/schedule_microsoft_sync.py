from django.core.management.base import BaseCommand

from microsoft.tasks import schedule


class Command(BaseCommand):
    help = "Put the periodic Microsoft sync on the worker's queue, unless it is there already."

    def handle(self, *args, **options):
        if schedule():
            self.stdout.write("The Microsoft sync is scheduled; a worker runs it now, then every "
                              "MICROSOFT_SYNC_MINUTES.")
        else:
            self.stdout.write("The Microsoft sync is already scheduled.")
