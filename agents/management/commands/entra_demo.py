"""manage.py entra_demo --state DIR --url URL: make the simulator's identity platform stand in for the
partner's Microsoft Entra ID tenant in `make run` (a demo user per role, MFA done, plus one without a
portal role), and print how to sign in with Microsoft.

The simulator's other data (customers, subscriptions) is left as it is: staff and the portal's app
registration are merged into the scenario, never replace it.
"""

import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Fake values for the local simulator only; a real tenant's come from the environment (README).
DEMO_CLIENT_ID = "0d3c9a1e-7b2f-4c8d-9e6a-5f1b2c3d4e5f"
DEMO_CLIENT_SECRET = "simulated-demo-secret-not-a-real-one"  # noqa: S105 - the local simulator's
DEMO_STAFF = [
    ("admin@partner.example", "Adi Admin", ["AdminAgent"]),
    ("sales@partner.example", "Sari Sales", ["SalesAgent"]),
    ("helpdesk@partner.example", "Hana Helpdesk", ["HelpdeskAgent"]),
    ("operator@partner.example", "Oka Operator", ["Operator"]),
    ("no-role@partner.example", "Nadia No Role", []),
]


def demo_staff() -> list[dict]:
    return [{"oid": str(uuid.uuid5(uuid.NAMESPACE_DNS, upn)), "userPrincipalName": upn, "displayName": name,
             "roles": roles, "groups": [], "mfa": True} for upn, name, roles in DEMO_STAFF]


def merged(state: dict, *, callback: str) -> dict:
    state = dict(state or {})
    partner = dict(state.get("partner") or {"tenantId": settings.ENTRA_TENANT_ID,
                                             "name": settings.PARTNER_NAME,
                                             "domain": "partner.example"})
    staff = {member["userPrincipalName"].lower(): member for member in partner.get("staff", [])}
    for member in demo_staff():
        staff.setdefault(member["userPrincipalName"], member)
    apps = [app for app in partner.get("apps", []) if app.get("appId") != DEMO_CLIENT_ID]
    apps.append({"appId": DEMO_CLIENT_ID, "appSecret": DEMO_CLIENT_SECRET,
                 "displayName": "CSP Partner Portal (make run)", "redirectUris": [callback]})
    partner.update(staff=list(staff.values()), apps=apps)
    state["partner"] = partner
    state.setdefault("customers", [])
    return state


class Command(BaseCommand):
    help = "Load the demo staff and the portal's app registration into a running simulator."

    def add_arguments(self, parser):
        parser.add_argument("--state", required=True, help="the simulator's state directory")
        parser.add_argument("--url", required=True, help="the portal's address, e.g. http://127.0.0.1:8000/")
        parser.add_argument("--wait", type=float, default=30, help="seconds to wait for the simulator")

    def handle(self, *args, state, url, wait, **options):
        from simulator.testing import Control

        state_dir = Path(state)
        deadline = time.monotonic() + wait
        while not (state_dir / "url").exists() or not (state_dir / "key").exists():
            if time.monotonic() > deadline:
                raise CommandError(f"The simulator did not start: no {state_dir / 'url'}.")
            time.sleep(0.2)
        base = (state_dir / "url").read_text().strip()
        control = Control(base, (state_dir / "key").read_text().strip(), state_dir / "ca.pem")
        for _attempt in range(50):
            try:
                current = control.get_state()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise CommandError(f"The simulator at {base} does not answer.")
        doc = merged(current, callback=url.rstrip("/") + "/oidc/callback/")
        tenant = doc["partner"]["tenantId"]
        if tenant.lower() != settings.ENTRA_TENANT_ID.lower():
            raise CommandError(f"The simulator's partner tenant is {tenant}, ENTRA_TENANT_ID is "
                               f"{settings.ENTRA_TENANT_ID}: set ENTRA_TENANT_ID={tenant}.")
        control.put_state(doc)
        self.stdout.write(f"Sign in with Microsoft (the simulator at {base}/login) as one of:")
        for upn, _name, roles in DEMO_STAFF:
            self.stdout.write(f"  {upn:<28} {', '.join(roles) or 'no portal role (refused)'}")
