"""Settings for the CSP Partner Portal, read from the environment (and an optional .env)."""

import datetime as dt
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for local development).")
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - used only with DEBUG on

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

PARTNER_NAME = env.str("PARTNER_NAME", default="Contoso Cloud Partner")
PARTNER_TENANT_ID = env.str("PARTNER_TENANT_ID", default="634f6379-a1c5-4f1e-9e39-8b3f5d2c7a10")
# None keeps every entry forever.
ACTIVITY_LOG_RETENTION_DAYS = env.int("ACTIVITY_LOG_RETENTION_DAYS", default=None)


def _activity_log_keys() -> tuple[str, dict[str, str]]:
    """The activity log's HMAC keys (activitylog/chain.py): the id that signs new entries, and each key.

    ACTIVITY_LOG_KEY signs, under the id ACTIVITY_LOG_KEY_ID; ACTIVITY_LOG_RETIRED_KEYS ("id:secret,...")
    keeps the keys used before a rotation, so that the entries they signed still verify. The keys live
    only here, never in the database: a role that may insert entries cannot sign one. Without a key the
    portal refuses to start (with DJANGO_DEBUG a development-only key signs), because an entry written
    unsigned after signed ones is exactly what verify_activity_log reports as forged.
    """
    key_id = env.str("ACTIVITY_LOG_KEY_ID", default="1")
    secret = env.str("ACTIVITY_LOG_KEY", default="")
    if not secret:
        if not DEBUG:
            raise ImproperlyConfigured(
                "Set ACTIVITY_LOG_KEY to a long random secret (e.g. python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'): it signs the activity log; the database never sees it.")
        key_id, secret = "dev", "insecure-local-development-only-activity-log-key"
    keys = {key_id: secret}
    for item in env.list("ACTIVITY_LOG_RETIRED_KEYS", default=[]):
        old_id, _sep, old_secret = item.partition(":")
        if not old_secret or old_id in keys:
            raise ImproperlyConfigured("ACTIVITY_LOG_RETIRED_KEYS is a comma-separated list of id:secret, "
                                       "each id once and never ACTIVITY_LOG_KEY_ID's.")
        keys[old_id] = old_secret
    for each_id, each_secret in keys.items():
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,32}", each_id):
            raise ImproperlyConfigured(f"Activity log key id {each_id!r}: 1 to 32 of A-Z a-z 0-9 . _ -")
        if len(each_secret) < 32:
            raise ImproperlyConfigured(f"Activity log key {each_id!r} is shorter than 32 characters.")
    return key_id, keys


ACTIVITY_LOG_KEY_ID, ACTIVITY_LOG_KEYS = _activity_log_keys()

# --- the outbox (issue 11): changes for Microsoft, applied by the worker
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_BACKOFF_SECONDS = env.float("OUTBOX_BACKOFF_SECONDS", default=2.0)
OUTBOX_BACKOFF_MAX_SECONDS = env.float("OUTBOX_BACKOFF_MAX_SECONDS", default=300.0)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=120)
OUTBOX_BLOCKED_SECONDS = env.float("OUTBOX_BLOCKED_SECONDS", default=60.0)

# The JSON API (/v1): requests per token per window (0 turns the limit off), and the largest body.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
API_RATE_LIMIT_WINDOW = env.int("API_RATE_LIMIT_WINDOW", default=60)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=16 * 1024)

# The Microsoft connection (microsoft/, README "Connected to Microsoft"). "simulated" talks to the Microsoft
# simulator (python -m simulator serve) at SIMULATOR_URL, "live" to Microsoft's own hosts; only the four
# base URLs and the credentials differ, the client code is the same.
MICROSOFT_CLOUD = env.str("MICROSOFT_CLOUD", default="simulated")
if MICROSOFT_CLOUD not in ("simulated", "live"):
    raise ImproperlyConfigured("MICROSOFT_CLOUD must be 'simulated' or 'live'.")
SIMULATOR_URL = env.str("SIMULATOR_URL", default="").rstrip("/")
if not SIMULATOR_URL and MICROSOFT_CLOUD == "simulated":
    _simulator_url_file = BASE_DIR / ".simulator" / "url"
    SIMULATOR_URL = (_simulator_url_file.read_text().strip() if _simulator_url_file.exists()
                     else "https://127.0.0.1:8001")
_MICROSOFT_HOSTS = {
    # The simulator answers its identity platform at the root too (and at /login): MSAL takes an
    # authority's first path segment as its tenant, so the root makes MSAL see the tenant as with Microsoft.
    "MICROSOFT_LOGIN_URL": ("https://login.microsoftonline.com", ""),
    "PARTNER_CENTER_URL": ("https://api.partnercenter.microsoft.com", "/partnercenter"),
    "AZURE_MANAGEMENT_URL": ("https://management.azure.com", "/management"),
    "MICROSOFT_GRAPH_URL": ("https://graph.microsoft.com", "/graph"),
}
for _name, (_live, _prefix) in _MICROSOFT_HOSTS.items():
    globals()[_name] = env.str(
        _name, default=_live if MICROSOFT_CLOUD == "live" else SIMULATOR_URL + _prefix
    ).rstrip("/")
# In simulated mode the demo partner's app (seed_demo --simulator registers it in the simulator); these
# defaults open nothing at Microsoft. Live mode has no defaults.
_SIMULATED = MICROSOFT_CLOUD == "simulated"
MICROSOFT_APP_ID = env.str("MICROSOFT_APP_ID",
                           default="5b0c2a11-6f0e-4a5e-9d1c-1e2f3a4b5c6d" if _SIMULATED else "")
MICROSOFT_APP_SECRET = env.str("MICROSOFT_APP_SECRET",
                               default="simulated-app-secret" if _SIMULATED else "")  # noqa: S105
# The Secure Application Model refresh token App+User calls need; once redeemed, the rotated one is
# kept encrypted in the database and this setting is no longer read (manage.py connect_microsoft).
MICROSOFT_REFRESH_TOKEN = env.str("MICROSOFT_REFRESH_TOKEN", default="")
# Fernet key (urlsafe base64 of 32 bytes) that encrypts stored Microsoft credentials; derived from
# DJANGO_SECRET_KEY when empty (set it in production, so rotating the secret key keeps the token).
MICROSOFT_CREDENTIALS_KEY = env.str("MICROSOFT_CREDENTIALS_KEY", default="")
MICROSOFT_SYNC_MINUTES = env.int("MICROSOFT_SYNC_MINUTES", default=15)
# Customers fetched at once; requests are paced below Microsoft's limits whatever this is.
MICROSOFT_SYNC_PARALLELISM = env.int("MICROSOFT_SYNC_PARALLELISM", default=16)
# Customers fetched, then compared with the mirror and written, per round (fewer queries the more there are).
MICROSOFT_SYNC_BATCH = env.int("MICROSOFT_SYNC_BATCH", default=50)
# Partner Center: 500 requests a minute per tenant on the Customer and Subscription resources; the
# client paces itself at this rate (0: no pacing, for benchmarks of the portal's own cost).
MICROSOFT_PC_REQUESTS_PER_MINUTE = env.int("MICROSOFT_PC_REQUESTS_PER_MINUTE", default=480)
# Azure Resource Manager, per subscription: reads bucket 250, refill 25 a second; we keep below.
MICROSOFT_ARM_READS_PER_SECOND = env.float("MICROSOFT_ARM_READS_PER_SECOND", default=20.0)
MICROSOFT_ARM_READS_BURST = env.int("MICROSOFT_ARM_READS_BURST", default=200)
MICROSOFT_TIMEOUT_SECONDS = env.float("MICROSOFT_TIMEOUT_SECONDS", default=30.0)
MICROSOFT_MAX_RETRIES = env.int("MICROSOFT_MAX_RETRIES", default=4)
# Partner Center's activity log (audit records) is imported this often (it keeps 90 days; at least daily),
# in windows of at most this many days (Partner Center answers 30 at most): microsoft/audit_import.py.
MICROSOFT_AUDIT_IMPORT_HOURS = env.int("MICROSOFT_AUDIT_IMPORT_HOURS", default=6)
MICROSOFT_AUDIT_WINDOW_DAYS = env.int("MICROSOFT_AUDIT_WINDOW_DAYS", default=30)

# The worker (django-tasks with its database backend): manage.py run_worker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

INSTALLED_APPS = [
    "portal",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "customers",
    "outbox",
    "permissions",
    "activitylog",
    "agents",
    "purchases",  # issue 12
    "api",
    "microsoft",
    "demo",
    "django_tasks",
    "django_tasks_db",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "portal.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.headers.PrivateCacheMiddleware",
    "agents.mfa.SecondFactorMiddleware",
    "portal.middleware.AgentLanguageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "activitylog.context_processors.activity_log",
                "permissions.context_processors.access_review",
                "microsoft.context_processors.microsoft",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A transaction that reads and then writes (a failed sign-in: axes' count, then the log entry)
    # takes the write lock at its start, so concurrent ones wait their turn instead of failing at
    # once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DJANGO_DB_PREPARED_STATEMENTS", default=True
):
    # Plan each hot query once per connection instead of on every request: planning the Account
    # page's query cost PostgreSQL more than running it. Turn off behind a pooler in transaction
    # mode that cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=2
    )
# The API's rate limit counts in this cache. The default is per process: with several gunicorn
# workers, point it at a shared cache (e.g. redis://... or dbcache://api_cache) for one count.
CACHES = {
    "default": env.cache("DJANGO_CACHE_URL", default="locmemcache://"),
    # {% cache %} fragments (the menus: URLs and translations only, nothing about data) stay in each
    # process, so a deploy never serves the previous release's markup from a shared cache.
    "template_fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "template-fragments"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.Agent"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "customers:list"
LOGOUT_REDIRECT_URL = "login"
# Multi-factor sign-in: a password sign-in needs a TOTP code (portal/mfa.py), a Microsoft Entra sign-in
# an ID token whose amr says mfa. On by default in production, off in development.
REQUIRE_MFA = env.bool("REQUIRE_MFA", default=not DEBUG)
# The portal's own passwords: off leaves only Sign in with Microsoft.
PASSWORD_SIGN_IN = env.bool("PASSWORD_SIGN_IN", default=True)
OTP_TOTP_ISSUER = PARTNER_NAME

# Sign in with Microsoft (OpenID Connect against the partner's own Microsoft Entra ID tenant at
# MICROSOFT_LOGIN_URL, above; agents/entra.py). Off while ENTRA_CLIENT_ID is empty.
ENTRA_TENANT_ID = env.str("ENTRA_TENANT_ID", default=PARTNER_TENANT_ID)
ENTRA_CLIENT_ID = env.str("ENTRA_CLIENT_ID", default="")
ENTRA_CLIENT_SECRET = env.str("ENTRA_CLIENT_SECRET", default="")
# The app roles defined in the Entra app registration and the portal role each gives; an agent with
# several gets the first listed. ENTRA_GROUP_ROLES maps group object ids the same way, for tenants
# that assign groups rather than app roles (the ID token then needs the groups claim).
ENTRA_APP_ROLES = env.dict("ENTRA_APP_ROLES", default={
    "AdminAgent": "admin_agent", "Operator": "operator", "SalesAgent": "sales_agent",
    "HelpdeskAgent": "helpdesk_agent"})
ENTRA_GROUP_ROLES = env.dict("ENTRA_GROUP_ROLES", default={})
# mozilla-django-oidc, configured for Entra by portal/entra.py (endpoints, client id and secret).
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_RP_SCOPES = "openid profile email"
OIDC_TIMEOUT = 15

# axes first: a locked-out account or address is refused before any password is hashed.
AUTHENTICATION_BACKENDS = ["agents.entra.PasswordGuard"]
if PASSWORD_SIGN_IN:
    AUTHENTICATION_BACKENDS.append("django.contrib.auth.backends.ModelBackend")
AUTHENTICATION_BACKENDS.append("agents.entra.EntraBackend")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English is the default; Indonesian comes from the browser's Accept-Language, the switcher in the top
# bar, or the agent's stored preference (portal.middleware.AgentLanguageMiddleware). The catalogue is
# locale/id/LC_MESSAGES/django.po, its compiled .mo committed next to it; see README "Languages".
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Indonesian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Dates and numbers in each language's own way (portal/formats/<language>/formats.py over Django's).
FORMAT_MODULE_PATH = ["portal.formats"]
USE_THOUSAND_SEPARATOR = True
LANGUAGE_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Secure by default; each can be relaxed from the environment for a plain-HTTP setup.
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=8 * 60 * 60)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Behind a reverse proxy: how many proxies in front of the portal append to X-Forwarded-For. The
# client's address (in the activity log and for the sign-in lockout) is the entry that many from the
# right; 0 (the default) ignores the header, which a client could otherwise write itself.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Guessing passwords (django-axes; portal/signin.py): after AXES_FAILURE_LIMIT failures for one
# account, or from one address, sign-in is refused for the cool-off, without checking the password.
AXES_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("SIGN_IN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "agents.signin.typed_username"
AXES_CLIENT_IP_CALLABLE = "agents.signin.client_address"
AXES_LOCKOUT_CALLABLE = "agents.signin.locked_out"
AXES_HANDLER = "agents.signin.RecordingHandler"
AXES_RESET_ON_SUCCESS = True
# An attempt during the lockout neither extends it nor writes anything: a guesser cannot make the
# lockout last for ever, nor make each refused guess cost a database write.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True

# Password reset by e-mail: printed to the console in development.
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
                        if DEBUG else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# Content-Security-Policy (django-csp) on every response: nothing inline, nothing from elsewhere. The
# portal's pages need no script at all; the Django admin's scripts and styles come from 'self'.
# Forms post only here (Microsoft's sign-out is a link, not a form).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_forbidden_traceback": {"()": "portal.headers.NoTracebackForbidden"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["no_forbidden_traceback"]}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # Replaces Django's own "django" handler, which would print every line a second time.
    "loggers": {"django": {"handlers": [], "propagate": True},
                # Each failed sign-in is in the activity log; axes' own lines would repeat them.
                "axes": {"level": "ERROR"}},
}

# --- Issue 12: what customers buy themselves (purchases/) ---
# The purchases poll (orders, entitlements, audit records, reservations, savings plans), in minutes.
PURCHASES_POLL_MINUTES = env.int("PURCHASES_POLL_MINUTES", default=5)
# Notification e-mail goes through Django's mail framework, set up above with the password reset's
# (EMAIL_BACKEND from DJANGO_EMAIL_BACKEND: any provider via django-anymail; the console under DJANGO_DEBUG).
NOTIFY_EMAILS = env.list("NOTIFY_EMAILS", default=[])
PURCHASE_WEBHOOK_URL = env.str("PURCHASE_WEBHOOK_URL", default="")
PURCHASE_WEBHOOK_SECRET = env.str("PURCHASE_WEBHOOK_SECRET", default="")
if PURCHASE_WEBHOOK_URL and not PURCHASE_WEBHOOK_SECRET:
    raise ImproperlyConfigured("PURCHASE_WEBHOOK_URL needs PURCHASE_WEBHOOK_SECRET (the signature's key).")
PURCHASE_WEBHOOK_TIMEOUT_SECONDS = env.float("PURCHASE_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
PURCHASE_NOTIFY_MAX_ATTEMPTS = env.int("PURCHASE_NOTIFY_MAX_ATTEMPTS", default=6)
PURCHASE_NOTIFY_BACKOFF_SECONDS = env.float("PURCHASE_NOTIFY_BACKOFF_SECONDS", default=30.0)

# issue 13: how long a refund or exchange quote (Microsoft's session) may be confirmed; Microsoft does not
# document a session's lifetime, so a confirmation after this gets a fresh quote.
PARTNER_QUOTE_LIFETIME_SECONDS = env.int("PARTNER_QUOTE_LIFETIME_SECONDS", default=600)
