"""Production settings plus one bench-only page, for comparing the portal with bare Django."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
