from django.core.management.base import BaseCommand

from purchases.poll import poll


class Command(BaseCommand):
    help = "Poll Microsoft once for what customers bought themselves, then send the notifications due."

    def handle(self, *args, **options):
        result = poll()
        self.stdout.write(f"{result.customers} customers polled, {len(result.new)} new purchases, "
                          f"deliveries {result.deliveries}")
        for error in result.errors:
            self.stderr.write(error)
