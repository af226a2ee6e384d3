"""Cost visibility: an Admin agent's choice reaches Azure's billing policy through the outbox, logged."""

from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Source, Status
from outbox.worker import drain
from purchases.models import BillingPolicy
from purchases.poll import poll

BILLING = "2020-05-01"


def held_in_azure(sim, tenant) -> str:
    state = sim.control.get_state()
    customer = next(c for c in state["customers"] if c["tenantId"] == tenant)
    return (customer.get("billingPolicy") or {}).get("viewCharges", "NotAllowed")


def test_allowing_cost_visibility_is_pushed_through_the_outbox_and_read_back(shop, signed_in, admin_agent):
    customer_url = reverse("customers:cost_visibility", args=[shop.tenant])
    signed_in(admin_agent).post(customer_url, {"view_charges": "Allowed"})
    assert held_in_azure(shop.sim, shop.tenant) == "NotAllowed"   # not yet: the worker pushes it

    drain()

    assert held_in_azure(shop.sim, shop.tenant) == "Allowed"
    policy = BillingPolicy.objects.get()
    assert (policy.view_charges, policy.held_view_charges) == ("Allowed", "Allowed")
    entries = ActivityLogEntry.objects.filter(action=Action.UPDATE_CUSTOMER_BILLING_POLICY).order_by("id")
    assert [(e.source, e.status) for e in entries] == [("web", Status.SUCCEEDED),
                                                      (Source.MICROSOFT, Status.SUCCEEDED)]
    assert entries[1].actor == admin_agent
    puts = [r for r in shop.sim.control.requests()
            if r["method"] == "PUT" and "policies/default" in r["path"]]
    assert len(puts) == 1

    poll()   # read back: Azure still holds it
    assert BillingPolicy.objects.get().held_view_charges == "Allowed"
