"""A reservation the customer bought itself in the simulator, mirrored by the purchases poll, then changed and
returned by an Admin agent through the pages and the outbox's worker."""

from django.urls import reverse

from activitylog.models import Action, ActivityLogEntry, Status
from outbox import worker
from purchases.models import Reservation, SavingsPlan
from purchases.poll import poll
from tests.purchases.conftest import shop  # noqa: F401 - the fixture, shared


def test_bought_by_the_customer_then_rescoped_and_returned_by_the_partner(shop, admin_agent, signed_in):  # noqa: F811
    assert shop.buy("reservation", amount=1200.0).status_code in (200, 201)
    assert shop.buy("savingsPlan").status_code in (200, 201)
    shop.sim.control.settings(reservationOperations={"retryAfterSeconds": 0})
    poll()
    reservation = Reservation.objects.get()
    plan = SavingsPlan.objects.get()
    tenant = reservation.order.customer.tenant_id
    client = signed_in(admin_agent)
    listing = client.get(reverse("customers:reservations", args=[tenant])).content.decode()
    assert reverse("benefits:reservation", args=[tenant, reservation.pk]) in listing
    client.post(reverse("benefits:reservation_scope", args=[tenant, reservation.pk]),
                {"scope": "Single", "subscription": shop.azure})
    client.post(reverse("benefits:savings_plan_name", args=[tenant, plan.pk]), {"name": "Compute"})
    worker.drain()
    reservation.refresh_from_db()
    assert reservation.scope == "Single" and reservation.applied_scopes == [f"/subscriptions/{shop.azure}"]
    assert SavingsPlan.objects.get().display_name == "Compute"
    client.post(reverse("benefits:refund_new", args=[tenant, reservation.pk]), {"quantity": 1})
    quote = reservation.operations.get(kind="return_reservation")
    client.post(reverse("benefits:refund_confirm", args=[tenant, reservation.pk]), {"operation": quote.pk})
    worker.drain()
    reservation.refresh_from_db()
    assert reservation.provisioning_state == "Cancelled"
    poll()                                                      # the next poll agrees with the mirror
    assert Reservation.objects.get().provisioning_state == "Cancelled"
    ours = ActivityLogEntry.objects.filter(action__in=[Action.UPDATE_RESERVATION, Action.RETURN_RESERVATION,
                                                       Action.UPDATE_SAVINGS_PLAN])
    assert sorted((e.action, e.status) for e in ours) == sorted([
        (Action.UPDATE_RESERVATION, Status.SUCCEEDED), (Action.UPDATE_SAVINGS_PLAN, Status.SUCCEEDED),
        (Action.RETURN_RESERVATION, Status.SUCCEEDED)])
