#!/usr/bin/env python3
"""The Microsoft simulator at scale: how fast it answers a 10,000-customer partner.

    .venv/bin/python bench/simulator.py [--customers 10000] [--subscriptions 3] [--audit-records 100000]
                                        [--samples 500]

Starts the simulator in a scratch directory, generates the partner, then with throttling off (this
measures the simulator, not Microsoft's limits) and one keep-alive connection prints: generate's time;
paging through every customer (500 a page); p50/p95 of a customer's subscriptions, of an Azure plan's
azureEntitlements, of an Azure subscription's role assignments and of a Graph getByIds; paging through 30
days of audit records; the simulator's peak memory (VmHWM) and the size of its state.json.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.testing import start_simulator  # noqa: E402

PC, ARM, GRAPH = ("https://api.partnercenter.microsoft.com", "https://management.azure.com",
                  "https://graph.microsoft.com")


def percentiles(samples: list[float]) -> str:
    cut = statistics.quantiles(samples, n=100)
    return f"p50 {cut[49] * 1000:.1f} ms, p95 {cut[94] * 1000:.1f} ms ({len(samples)} requests)"


def timed(session: requests.Session, method: str, url: str, **kwargs) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    response = session.request(method, url, **kwargs)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--audit-records", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, start_simulator(state) as sim:
        control = sim.control
        start = time.perf_counter()
        summary = control.generate(customers=args.customers, subscriptionsPerCustomer=args.subscriptions,
                                   auditRecords=args.audit_records, seed=1)
        print(f"generate: {summary['customers']:,} customers, {summary['subscriptions']:,} subscriptions, "
              f"{summary['auditRecords']:,} audit records in {time.perf_counter() - start:.2f} s")
        control.settings(throttling=False)
        doc = control.get_state()
        partner = doc["partner"]
        session = requests.Session()
        session.verify = str(sim.ca_path)

        def bearer(tenant: str, resource: str) -> dict:
            token = control.mint_token(tenant=tenant, resource=resource, expiresIn=3600)
            return {"Authorization": f"Bearer {token}"}

        pc_headers = bearer(partner["tenantId"], PC)
        start, pages, uri, extra = time.perf_counter(), 0, "/v1/customers?size=500", {}
        seen = 0
        while uri:
            _, response = timed(session, "GET", sim.partner_center_url + uri, headers={**pc_headers, **extra},
                                verify=str(sim.ca_path))
            body = response.json()
            pages += 1
            seen += len(body["items"])
            nxt = body["links"].get("next")
            uri = nxt["uri"] if nxt else None
            extra = {h["key"]: h["value"] for h in nxt["headers"]} if nxt else {}
        print(f"customers: {seen:,} in {pages} pages, {time.perf_counter() - start:.2f} s")

        rng = random.Random(1)  # noqa: S311 - picks samples
        picks = [rng.choice(doc["customers"]) for _ in range(args.samples)]
        verify = str(sim.ca_path)
        subscriptions, entitlements, assignments, lookups = [], [], [], []
        for customer in picks:
            tid = customer["tenantId"]
            plan = customer["subscriptions"][0]
            elapsed, _ = timed(session, "GET", f"{sim.partner_center_url}/v1/customers/{tid}/subscriptions",
                               headers=pc_headers, verify=verify)
            subscriptions.append(elapsed)
            elapsed, _ = timed(session, "GET", f"{sim.partner_center_url}/v1/customers/{tid}/subscriptions/"
                               f"{plan['id']}/azureEntitlements", headers=pc_headers, verify=verify)
            entitlements.append(elapsed)
            azure = plan["azureSubscriptions"][0]
            arm_headers = bearer(tid, ARM)
            elapsed, response = timed(
                session, "GET", f"{sim.azure_management_url}/subscriptions/{azure['id']}/providers/"
                "Microsoft.Authorization/roleAssignments?api-version=2022-04-01", headers=arm_headers,
                verify=verify)
            assignments.append(elapsed)
            ids = [a["properties"]["principalId"] for a in response.json()["value"]]
            elapsed, _ = timed(session, "POST", f"{sim.graph_url}/v1.0/directoryObjects/getByIds",
                               headers=bearer(tid, GRAPH), json={"ids": ids}, verify=verify)
            lookups.append(elapsed)
        print(f"subscriptions:       {percentiles(subscriptions)}")
        print(f"azureEntitlements:   {percentiles(entitlements)}")
        print(f"roleAssignments:     {percentiles(assignments)}")
        print(f"getByIds:            {percentiles(lookups)}")

        start, pages, records, uri, extra = time.perf_counter(), 0, 0, "/v1/auditrecords?size=500", {}
        while uri:
            _, response = timed(session, "GET", sim.partner_center_url + uri, headers={**pc_headers, **extra},
                                verify=verify)
            body = response.json()
            pages, records = pages + 1, records + len(body["items"])
            nxt = body["links"].get("next")
            uri = nxt["uri"] if nxt else None
            extra = {h["key"]: h["value"] for h in nxt["headers"]} if nxt else {}
        print(f"audit records (last 30 days): {records:,} in {pages} pages, "
              f"{time.perf_counter() - start:.2f} s")
        status = Path(f"/proc/{sim.process.pid}/status")
        if status.exists():
            peak = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM"))
            print(f"simulator peak memory: {peak.split(':')[1].strip()}")
        time.sleep(1)
        state_file = Path(state) / "state.json"
        if state_file.exists():
            print(f"state.json: {state_file.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
