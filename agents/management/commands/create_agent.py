"""manage.py create_agent EMAIL --role ROLE: add an agent from a script, logged as Add Agent."""

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from activitylog.services import Origin
from agents.services import add_agent
from portal.models import Agent


class Command(BaseCommand):
    help = ("Add an agent, logged as Add Agent (source System). Without --password-stdin the agent signs "
            "in with Microsoft or sets a password through password reset by e-mail.")

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Agent.Role.values)
        parser.add_argument("--name", default="", help="the agent's full name")
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the agent's password from standard input (never an argument)")

    def handle(self, *args, email, role, name, password_stdin, **options):
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        if password_stdin and not password:
            raise CommandError("No password on standard input.")
        try:
            agent = add_agent(actor=None, email=email, role=role, full_name=name, password=password,
                              origin=Origin.system("create_agent"))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Added {agent.email} ({agent.get_role_display()}).")
