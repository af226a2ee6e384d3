from django.core.management.base import BaseCommand

from microsoft.audit_tasks import schedule


class Command(BaseCommand):
    help = "Put the periodic import of Partner Center's activity log on the worker's queue, unless it is."

    def handle(self, *args, **options):
        if schedule():
            self.stdout.write("The Partner Center activity log import is scheduled; a worker runs it now, "
                              "then every MICROSOFT_AUDIT_IMPORT_HOURS.")
        else:
            self.stdout.write("The Partner Center activity log import is already scheduled.")
