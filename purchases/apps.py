from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = _("Customer purchases")

    def ready(self) -> None:
        from . import cost_visibility

        cost_visibility.register()
        from . import operations  # issue 13: the partner's operations, sent through the outbox

        operations.register()
        from . import review  # issue 15: the Access review's self-purchases column

        review.register()
