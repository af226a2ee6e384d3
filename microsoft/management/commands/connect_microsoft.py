import sys

from django.core.management.base import BaseCommand, CommandError

from microsoft.credentials import store_refresh_token


class Command(BaseCommand):
    help = ("Store a new App+User (Secure Application Model) refresh token, read from standard input. "
            "It is kept encrypted and never printed.")

    def handle(self, *args, **options):
        if sys.stdin.isatty():
            self.stderr.write("Paste the refresh token, then press Enter:")
        token = sys.stdin.readline().strip()
        if not token:
            raise CommandError("No refresh token on standard input; nothing was stored.")
        if any(ch.isspace() for ch in token) or len(token) > 20000:
            raise CommandError("That does not look like a refresh token; nothing was stored.")
        store_refresh_token(token)
        self.stdout.write("Refresh token stored (encrypted). The next sync uses it.")
