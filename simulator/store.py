"""The simulator's data: the scenario, what the simulator added to it, settings, faults, the journal.

Everything lives in memory behind one lock and is saved to `state.json` (by a background thread, shortly
after each change) so that restarts keep the demo. Lists that Microsoft answers per tenant are indexed by
tenant id, so that every list endpoint stays fast at 10,000 customers.
"""

from __future__ import annotations

import collections
import copy
import json
import math
import os
import random
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_SETTINGS = {
    "throttling": True,
    # The most items the simulator answers per page (a client's smaller `size` is honoured).
    "pageSize": {"customers": 500, "roleAssignments": 100, "auditRecords": 500},
    # null, "expired" (AADSTS700082) or "mfa_required" (AADSTS50076): every refresh token is refused so.
    "revokeRefreshTokens": None,
    # Microsoft's documented limits; lowered (or raised) by tests and benchmarks.
    "throttleLimits": {"partnerCenterPerMinute": 500,
                       "armReads": 250, "armReadsPerSecond": 25,
                       "armWrites": 200, "armWritesPerSecond": 10,
                       "armDeletes": 200, "armDeletesPerSecond": 10},
    "accessTokenLifetimeSeconds": 3600,
    # issue 13 (simulator/reservation_ops.py): InProgress answers before a long-running operation ends,
    # its Retry-After, how long a refund/exchange quote's session lives, policy errors every exchange gets.
    "reservationOperations": {"operationPolls": 1, "retryAfterSeconds": 1, "quoteLifetimeSeconds": 600,
                              "exchangePolicyErrors": []},
}
FAULT_KINDS = {"429", "500", "503", "drop", "drop_after", "html", "slow", "truncated", "unknown_enum",
               "canned",
               "operation_failed"}  # issue 13: the long-running operation it starts fails halfway
JOURNAL_LIMIT = 200_000   # the oldest entries go first
IDEMPOTENCY_LIMIT = 100_000


def empty_scenario() -> dict:
    return {"partner": None, "customers": [], "auditRecords": []}


def lower(value) -> str:
    return str(value or "").lower()


class Store:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.lock = threading.RLock()
        self.scenario: dict = empty_scenario()
        self.internal: dict = {"refreshTokens": {}, "idempotency": {}}
        self.settings: dict = copy.deepcopy(DEFAULT_SETTINGS)
        self.codes: dict[str, dict] = {}          # authorization codes (short-lived, not saved)
        self.faults: list[dict] = []
        self.journal: list[dict] = []
        self.seq = 0
        self.random = random.Random(0)  # noqa: S311 - chooses which requests a fault hits, not a secret
        self.pc_windows: dict[tuple, collections.deque] = {}
        self.arm_buckets: dict[tuple, list[float]] = {}
        self._dirty = threading.Event()
        self._load()
        self._saver = threading.Thread(target=self._save_loop, name="simulator-saver", daemon=True)
        self._saver.start()

    # ----------------------------------------------------------------------------------- persistence
    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _load(self) -> None:
        if self.state_file.exists():
            saved = json.loads(self.state_file.read_text())
            self.scenario = saved.get("scenario") or empty_scenario()
            self.internal = {"refreshTokens": {}, "idempotency": {}, **(saved.get("internal") or {})}
            self.settings = merge_settings(DEFAULT_SETTINGS, saved.get("settings") or {})
        self.reindex()

    def changed(self) -> None:
        """Call with the lock held, after any change worth keeping."""
        self._dirty.set()

    def _save_loop(self) -> None:
        while True:
            self._dirty.wait()
            time.sleep(0.2)   # gather a burst of changes into one write
            self.save()

    def save(self, *, in_process: bool = False) -> None:
        """Write state.json. At 10,000 customers that takes seconds, and json holds the GIL throughout,
        so the saver forks: the child writes a copy-on-write snapshot while the server goes on answering."""
        with self.lock:
            self._dirty.clear()
            if in_process or not hasattr(os, "fork"):
                self._write()
                return
            pid = os.fork()
            if pid == 0:  # the child: write the snapshot and leave at once, whatever happens
                code = 1
                try:
                    self._write()
                    code = 0
                finally:
                    os._exit(code)
        os.waitpid(pid, 0)

    def _write(self) -> None:
        text = json.dumps({"version": 1, "scenario": self.scenario, "internal": self.internal,
                           "settings": self.settings}, separators=(",", ":"))
        tmp = self.state_file.with_suffix(f".json.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.state_file)

    # -------------------------------------------------------------------------------------- scenario
    def reindex(self) -> None:
        """Normalise the scenario and build the lookups by tenant and by id."""
        scenario = self.scenario
        scenario.setdefault("partner", None)
        scenario.setdefault("customers", [])
        scenario.setdefault("auditRecords", [])
        partner = scenario["partner"]
        if partner is not None:
            partner.setdefault("staff", [])
            partner.setdefault("apps", [])
            partner.setdefault("groups", [])
        self.customers: dict[str, dict] = {}
        self.customer_ids: list[str] = []
        self.domains: dict[str, str] = {}
        self.arm: dict[str, tuple[dict, dict, dict]] = {}
        self.directory: dict[str, dict[str, tuple[str, dict]]] = {}
        for customer in scenario["customers"]:
            self.index_customer(customer)
        self.staff = {lower(s.get("oid")): s for s in (partner or {}).get("staff", [])}
        for record in scenario["auditRecords"]:
            record["operationDate"] = canonical_time(record.get("operationDate"))
        scenario["auditRecords"].sort(key=lambda record: record["operationDate"])
        self.audit_dates = [record.get("operationDate") or "" for record in scenario["auditRecords"]]

    def index_customer(self, customer: dict) -> None:
        for key in ("users", "groups", "servicePrincipals", "subscriptions", "orders"):
            customer.setdefault(key, [])
        customer.setdefault("relationship", "reseller")
        customer.setdefault("selfServePolicy", None)
        tid = lower(customer["tenantId"])
        if tid not in self.customers:
            self.customer_ids.append(tid)
        self.customers[tid] = customer
        if customer.get("domain"):
            self.domains[lower(customer["domain"])] = tid
        directory = self.directory.setdefault(tid, {})
        for kind, key in (("user", "users"), ("group", "groups"), ("servicePrincipal", "servicePrincipals")):
            for obj in customer[key]:
                directory[lower(obj["id"])] = (kind, obj)
        for subscription in customer["subscriptions"]:
            subscription.setdefault("azureSubscriptions", [])
            for azure in subscription["azureSubscriptions"]:
                azure.setdefault("roleAssignments", [])
                azure.setdefault("status", "active")
                self.arm[lower(azure["id"])] = (customer, subscription, azure)

    def replace(self, scenario: dict) -> None:
        """A new scenario. Refresh tokens of partner users who are still in it, for the same app, stay valid:
        Entra does not revoke a user's refresh tokens when other things in the directory change (make run
        loads the demo staff after the portal stored its token). reset() empties everything."""
        with self.lock:
            partner = scenario.get("partner") or {}
            staff = {lower(person.get("oid")) for person in partner.get("staff", [])}
            app = lower(partner.get("appId"))
            kept = {token: record for token, record in self.internal["refreshTokens"].items()
                    if record["oid"] in staff and record["clientId"] == app}
            self.scenario = scenario
            self.internal = {"refreshTokens": kept, "idempotency": {}}
            self.codes.clear()
            self.reindex()
            self.changed()

    def reset(self) -> None:
        with self.lock:
            self.replace(empty_scenario())
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)
            self.faults.clear()
            self.journal.clear()
            self.pc_windows.clear()
            self.arm_buckets.clear()

    @property
    def partner(self) -> dict | None:
        return self.scenario.get("partner")

    def customer(self, tenant_id: str) -> dict | None:
        return self.customers.get(lower(tenant_id))

    def tenant_id(self, name: str) -> str | None:
        """A tenant's id from a path segment: its id or one of its domains; None when unknown."""
        name = lower(name)
        partner = self.partner
        if partner is not None and name in (lower(partner.get("tenantId")), lower(partner.get("domain")),
                                            "common", "organizations"):
            return lower(partner["tenantId"])
        if name in self.customers:
            return name
        return self.domains.get(name)

    def tenant_name(self, tenant_id: str) -> str:
        partner = self.partner or {}
        if lower(tenant_id) == lower(partner.get("tenantId")):
            return partner.get("name") or tenant_id
        customer = self.customer(tenant_id)
        return customer.get("companyName", tenant_id) if customer else tenant_id

    def add_audit_record(self, record: dict) -> None:
        """Append one audit record (records are kept in operationDate order)."""
        records = self.scenario["auditRecords"]
        records.append(record)
        self.audit_dates.append(record["operationDate"])
        if len(self.audit_dates) > 1 and self.audit_dates[-2] > self.audit_dates[-1]:
            records.sort(key=lambda r: r["operationDate"])
            self.audit_dates = [r["operationDate"] for r in records]

    # ---------------------------------------------------------------------------------------- faults
    def set_faults(self, rules: list[dict]) -> None:
        prepared = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise ValueError("Each rule is an object.")
            if rule.get("fault") not in FAULT_KINDS:
                raise ValueError(f"Unknown fault {rule.get('fault')!r}; one of {sorted(FAULT_KINDS)}.")
            try:
                path = re.compile(rule.get("path") or "")
            except re.error as exc:
                raise ValueError(f"The path {rule.get('path')!r} is not a regular expression: "
                                 f"{exc}.") from exc
            for number in ("probability", "retryAfter", "delaySeconds"):
                if rule.get(number) is not None and (isinstance(rule[number], bool) or
                                                     not isinstance(rule[number], int | float)):
                    raise ValueError(f"{number} is a number.")
            if rule["fault"] == "canned" and (isinstance(rule.get("status", 200), bool)
                                              or not isinstance(rule.get("status", 200), int)):
                raise ValueError("status is an HTTP status code.")
            prepared.append({**rule, "_path": path,
                             "_skip": int(rule.get("skip") or 0),
                             "_left": None if rule.get("times", 1) is None else int(rule.get("times", 1))})
        with self.lock:
            self.faults.extend(prepared)

    def take_fault(self, method: str, path: str) -> dict | None:
        """The first rule that applies to this request, counted as used."""
        with self.lock:
            for rule in self.faults:
                if rule["_left"] == 0:
                    continue
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                if not rule["_path"].search(path):
                    continue
                if rule["_skip"] > 0:
                    rule["_skip"] -= 1
                    continue
                if rule.get("probability") is not None and self.random.random() >= rule["probability"]:
                    continue
                if rule["_left"] is not None:
                    rule["_left"] -= 1
                return rule
        return None

    def fault_list(self) -> list[dict]:
        with self.lock:
            return [{**{k: v for k, v in rule.items() if not k.startswith("_")}, "left": rule["_left"]}
                    for rule in self.faults]

    # --------------------------------------------------------------------------------------- journal
    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.journal.append(entry)
            if len(self.journal) > JOURNAL_LIMIT:
                del self.journal[: len(self.journal) - JOURNAL_LIMIT]

    # ------------------------------------------------------------------------------------ throttling
    def partner_center_throttle(self, tenant: str, resource: str) -> int | None:
        """Count one request on a throttled resource; the Retry-After seconds when over the limit."""
        if not self.settings["throttling"]:
            return None
        limit = self.settings["throttleLimits"]["partnerCenterPerMinute"]
        now = time.monotonic()
        with self.lock:
            window = self.pc_windows.setdefault((lower(tenant), resource), collections.deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= limit:
                return max(1, math.ceil(window[0] + 60 - now))
            window.append(now)
        return None

    def arm_throttle(self, subscription: str, principal: str, kind: str) -> tuple[int, int | None]:
        """Take one token from the subscription's bucket: (tokens remaining, Retry-After or None)."""
        limits = self.settings["throttleLimits"]
        capacity = limits[f"arm{kind.capitalize()}"]
        refill = limits[f"arm{kind.capitalize()}PerSecond"]
        now = time.monotonic()
        with self.lock:
            bucket = self.arm_buckets.setdefault((lower(subscription), lower(principal), kind),
                                                 [float(capacity), now])
            bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * refill)
            bucket[1] = now
            if not self.settings["throttling"]:
                return int(bucket[0]), None
            if bucket[0] < 1:
                return 0, max(1, math.ceil((1 - bucket[0]) / refill))
            bucket[0] -= 1
            return int(bucket[0]), None


CANONICAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def canonical_time(value) -> str:
    """An ISO time as Partner Center writes it (UTC, microseconds, Z), so that times sort as strings."""
    if isinstance(value, str) and CANONICAL_TIME.match(value):
        return value
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def merge_settings(base: dict, change: dict) -> dict:
    """The settings with `change` applied; nested dicts are merged, unknown keys refused."""
    merged = copy.deepcopy(base)
    for key, value in change.items():
        if key not in DEFAULT_SETTINGS:
            raise ValueError(f"Unknown setting {key!r}; known: {sorted(DEFAULT_SETTINGS)}.")
        if isinstance(DEFAULT_SETTINGS[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"Setting {key!r} takes an object.")
            unknown = set(value) - set(DEFAULT_SETTINGS[key])
            if unknown:
                raise ValueError(f"Unknown {key} keys: {sorted(unknown)}.")
            merged[key].update(value)
        else:
            merged[key] = value
    if merged["revokeRefreshTokens"] not in (None, "expired", "mfa_required"):
        raise ValueError("revokeRefreshTokens is one of null, \"expired\", \"mfa_required\".")
    return merged
