"""Settings for the test suite: the production settings with test-only values."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ACTIVITY_LOG_KEY", "tests-only-activity-log-key-not-a-secret")
os.environ.setdefault("ACTIVITY_LOG_KEY_ID", "tests")

from portal.settings import *  # noqa: E402,F403
from portal.settings import DATABASES, STORAGES  # noqa: E402

DEBUG = False
# A test that is about multi-factor sign-in turns it on; the others sign in with a password alone.
REQUIRE_MFA = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Threads in the browser tests share the in-memory test database.
    DATABASES["default"]["TEST"] = {"NAME": "file:testdb?mode=memory&cache=shared"}
# A fresh clone has no collected static files; look them up per request instead of warning at start-up.
WHITENOISE_AUTOREFRESH = True
