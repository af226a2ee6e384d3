from django.core.management.base import BaseCommand, CommandError, CommandParser

from activitylog.services import Origin
from api.forms import MAX_DAYS, ApiTokenForm
from portal.models import Agent

from ...services import issue_token


class Command(BaseCommand):
    help = "Create a personal API token for an agent and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The agent the token acts as, with that agent's role.")
        parser.add_argument("--expires-in-days", type=int, default=None,
                            help=f"1 to {MAX_DAYS}; by default the token does not expire.")
        parser.add_argument("--name", default="create_api_token", help="What the token is for.")

    def handle(self, *args, email: str, expires_in_days: int | None, name: str, **options) -> None:
        try:
            agent = Agent.objects.get_by_natural_key(email)
        except Agent.DoesNotExist:
            raise CommandError(f"No agent has the e-mail address {email}.") from None
        if not agent.is_active:
            raise CommandError(f"{agent.email} is inactive: a token of theirs would not work.")
        form = ApiTokenForm({"name": name, "expires_in_days": expires_in_days or "",
                             "never_expires": expires_in_days is None})
        if not form.is_valid():
            raise CommandError(" ".join(f"{field}: {' '.join(errors)}"
                                        for field, errors in form.errors.items()))
        # Logged as the system's doing, for the agent named in its new value: who ran it is not known.
        _token, raw = issue_token(actor=None, owner=agent, name=form.cleaned_data["name"],
                                  expires_at=form.expires_at(), origin=Origin.system("create_api_token"))
        self.stdout.write(raw)
