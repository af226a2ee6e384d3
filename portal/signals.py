from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation


@receiver(user_logged_in)
def apply_language_preference(sender, request, user, **kwargs) -> None:
    """At sign-in the agent's stored language applies; an agent without one keeps the language
    picked on the sign-in page (the language cookie), which becomes the preference."""
    if request is None or not hasattr(user, "language"):
        return
    languages = dict(settings.LANGUAGES)
    if user.language not in languages:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if chosen not in languages:
            return
        user.language = chosen
        user.save(update_fields=["language"])
    translation.activate(user.language)
    request.LANGUAGE_CODE = user.language
