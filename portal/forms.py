from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class SignInForm(AuthenticationForm):
    """Django's sign-in form, its refusal in our catalogue: Django's Indonesian reads
    "nama pengguna alamat email", since the field is named username there."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter a correct %(username)s and password. Note that both fields may be case-sensitive."
        ),
    }
