"""{% pending_steps customer %}: the readiness steps sent to Microsoft that are still waiting, and those
Microsoft refused (with its reason). On the Account page (in its permissions card), the Subscriptions
and the Users pages."""

from django import template

from permissions.steps import describe, step_changes

register = template.Library()


@register.inclusion_tag("permissions/pending_steps.html")
def pending_steps(customer):
    return {"step_changes": [(change, describe(change)) for change in step_changes(customer)]}
