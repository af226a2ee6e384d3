"""The customer's side from a terminal: `python -m simulator customers` and `python -m simulator buy`.

A person trying the portal under `make run` plays a customer user with these, as if in the Azure portal:

    .venv/bin/python -m simulator customers                      # who may buy what, where
    .venv/bin/python -m simulator buy contoso.onmicrosoft.com --as owner@contoso.example reservation \
        --term P1Y --scope Shared --quantity 2 --billing Upfront --amount 2400
    .venv/bin/python -m simulator buy contoso.onmicrosoft.com --as owner@contoso.example savings-plan \
        --hourly 1.5 --term P3Y --scope Single

Both talk to a running simulator through its control API (`/_simulator/`, simulator/customer_portal.py for
the purchase): the URL from DIR/url, the key from $SIMULATOR_KEY or DIR/key, the certificate authority
DIR/ca.pem, where DIR is `--state` (default `.simulator/`, as `make run` uses). Azure's refusals (the
partner's self-serve policy does not allow it: BillingScopeNotEligible; the buyer holds no Owner role on the
subscription: AuthorizationFailed) are printed with Azure's code and message, and the command exits 1;
a refused purchase creates nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from .customer_portal import OWNER

KINDS = {"reservation": "reservation", "savings-plan": "savingsPlan"}


class CliError(Exception):
    """A problem before anything reaches the simulator (exit 2)."""


def add_commands(commands, default_state: Path) -> None:
    customers = commands.add_parser(
        "customers", help="list the simulator's customers: users, Azure subscriptions, who is Owner, "
                          "what the partner allows them to buy")
    _connection_arguments(customers, default_state)
    buy = commands.add_parser(
        "buy", help="as a customer user, buy an Azure reservation or savings plan (refused as Azure does)")
    _connection_arguments(buy, default_state)
    buy.add_argument("customer", help="the customer's tenant id or domain (see `customers`)")
    buy.add_argument("kind", choices=tuple(KINDS), help="what to buy")
    buy.add_argument("--as", dest="buyer", required=True, metavar="USER",
                     help="the buying customer user: userPrincipalName or object id")
    buy.add_argument("--subscription", metavar="ID",
                     help="the Azure subscription it is billed to (default: the customer's only one)")
    buy.add_argument("--term", choices=("P1Y", "P3Y"), default="P1Y")
    buy.add_argument("--scope", choices=("Single", "Shared"), default="Shared",
                     help="Single: the subscription above only; Shared: all the customer's subscriptions")
    buy.add_argument("--billing", choices=("Upfront", "Monthly"), default="Upfront", help="billing plan")
    buy.add_argument("--quantity", type=int, default=1, help="reservation: how many instances")
    buy.add_argument("--sku", default="Standard_D2s_v3", help="reservation: the product (SKU)")
    buy.add_argument("--location", default="westeurope", help="reservation: the region")
    buy.add_argument("--resource-type", default="VirtualMachines",
                     help="reservation: Azure's reservedResourceType (e.g. VirtualMachines, SqlDatabases)")
    buy.add_argument("--amount", type=float, default=1000.0,
                     help="reservation: its total price in the currency (default 1000)")
    buy.add_argument("--hourly", type=float, help="savings plan: the hourly commitment (required)")
    buy.add_argument("--currency", default="USD")


def _connection_arguments(parser, default_state: Path) -> None:
    parser.add_argument("--state", type=Path, default=default_state,
                        help="the simulator's directory: url, key, ca.pem (default: .simulator/)")
    parser.add_argument("--url", help="the simulator's base URL (default: DIR/url)")
    parser.add_argument("--key", default=os.environ.get("SIMULATOR_KEY"),
                        help="the control API's key (default: $SIMULATOR_KEY, else DIR/key)")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        raise CliError(f"No {what} in {path}: is the simulator running (make run, or python -m simulator "
                       f"serve --state {path.parent})?") from None


class _Control:
    def __init__(self, args) -> None:
        self.url = (args.url or _read(args.state / "url", "simulator URL")).rstrip("/") + "/_simulator"
        key = args.key or _read(args.state / "key", "control key")
        self.ca = str(args.state / "ca.pem") if (args.state / "ca.pem").exists() else True
        self.session = requests.Session()
        self.session.headers["X-Simulator-Key"] = key

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            # verify= per request: REQUESTS_CA_BUNDLE in the environment beats Session.verify
            return self.session.request(method, self.url + path, timeout=60, verify=self.ca, **kwargs)
        except requests.RequestException as exc:
            raise CliError(f"The simulator at {self.url} does not answer: {exc}") from None

    def state(self) -> dict:
        answer = self.call("GET", "/state")
        if answer.status_code != 200:
            raise CliError(f"The simulator refused to show its state: {answer.status_code} {answer.text}")
        return answer.json()


def _azure_subscriptions(customer: dict) -> list[dict]:
    return [azure for subscription in customer.get("subscriptions") or []
            for azure in subscription.get("azureSubscriptions") or []]


def _find_customer(state: dict, given: str) -> dict | None:
    given = given.lower()
    for customer in state.get("customers") or []:
        names = {str(customer.get("tenantId", "")).lower(), str(customer.get("domain", "")).lower(),
                 *(str(domain).lower() for domain in customer.get("domains") or [])}
        if given in names:
            return customer
    return None


def _owners(azure: dict) -> set[str]:
    return {str(a.get("principalId", "")).lower() for a in azure.get("roleAssignments") or []
            if str(a.get("roleDefinitionId", "")).lower().rstrip("/").endswith(OWNER)}


def list_customers(args, out) -> int:
    state = _Control(args).state()
    customers = state.get("customers") or []
    if not customers:
        print("The simulator has no customers (make run fills it with the demo partner).", file=out)
        return 0
    for customer in customers:
        allowed = (customer.get("selfServePolicy") or {}).get("permissions") or []
        name, domain, tenant = customer.get("companyName"), customer.get("domain"), customer.get("tenantId")
        print(f"{name}  {domain}  {tenant}", file=out)
        print(f"  the partner allows: {', '.join(allowed) if allowed else 'nothing'}", file=out)
        azure = _azure_subscriptions(customer)
        users = customer.get("users") or []
        for subscription in azure:
            owners = _owners(subscription)
            owner_names = [user.get("userPrincipalName") for user in users
                           if str(user.get("id", "")).lower() in owners]
            print(f"  Azure subscription {subscription.get('id')} ({subscription.get('friendlyName', '')}, "
                  f"{subscription.get('status', '')}): Owner {', '.join(owner_names) or 'no customer user'}",
                  file=out)
        if not azure:
            print("  no Azure subscription", file=out)
        for user in users:
            print(f"  user {user.get('userPrincipalName')}", file=out)
    return 0


def buy(args, out) -> int:
    control = _Control(args)
    subscription = args.subscription
    if subscription is None:
        customer = _find_customer(control.state(), args.customer)
        if customer is None:
            raise CliError(f"No customer '{args.customer}' in the simulator (see `python -m simulator "
                           "customers`).")
        azure = _azure_subscriptions(customer)
        if len(azure) != 1:
            listed = ", ".join(str(a.get("id")) for a in azure) or "none"
            raise CliError(f"{customer.get('companyName')} has {len(azure)} Azure subscriptions ({listed}): "
                           "name one with --subscription.")
        subscription = str(azure[0]["id"])
    body = {"kind": KINDS[args.kind], "buyer": args.buyer, "subscriptionId": subscription,
            "term": args.term, "scope": args.scope, "billingPlan": args.billing,
            "currencyCode": args.currency}
    if args.kind == "reservation":
        body.update(quantity=args.quantity, sku=args.sku, location=args.location,
                    reservedResourceType=args.resource_type, amount=args.amount)
    else:
        if args.hourly is None:
            raise CliError("A savings plan needs --hourly (the hourly commitment, e.g. --hourly 1.5).")
        body["hourlyCommitment"] = args.hourly
    answer = control.call("POST", f"/customers/{args.customer}/purchases", json=body)
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if answer.status_code != 201:
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            print(f"Azure refused the purchase ({answer.status_code} {error.get('code')}): "
                  f"{error.get('message')}", file=sys.stderr)
        else:
            print(f"The simulator answered {answer.status_code}: {answer.text}", file=sys.stderr)
        print("Nothing was bought.", file=sys.stderr)
        return 1
    if args.kind == "reservation":
        print(f"Bought: reservation order {data['reservationOrderId']}", file=out)
        print(f"  Partner Center order {data['order']['id']} (and its create_order audit record)", file=out)
    else:
        print(f"Bought: savings plan order {data['savingsPlanOrderId']} (Azure only; Partner Center never "
              "shows savings plans)", file=out)
    print("The portal sees it at its next purchases poll (every PURCHASES_POLL_MINUTES, default 5); "
          "`manage.py poll_purchases` polls now.", file=out)
    return 0


def run(args, out=None) -> int:
    out = out or sys.stdout
    try:
        return list_customers(args, out) if args.command == "customers" else buy(args, out)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 2
