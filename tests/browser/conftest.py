"""Real-browser journeys: Debian's Chromium, headless, driven by Playwright against the live server.

Nothing is downloaded: Playwright launches the system's `chromium` by its executable path
(`CHROMIUM_PATH` overrides it). Without one the tests skip, except under `CI=true`, where they fail,
so that CI can never pass by silently skipping them.
"""

import os
import shutil

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from portal.models import Agent

from ..factories import PASSWORD

# Playwright's sync API runs an asyncio event loop in the test thread from the first browser test to
# the end of the session, and Django refuses ORM calls from a thread with a running loop
# (SynchronousOnlyOperation). Our ORM calls here (factories, services, assertions) are plain
# synchronous code that never runs inside that loop, so the guard is a false alarm for these tests
# and for any test that runs after them in the same session.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The machine may have no internet: nothing in the background may try to reach it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def find_chromium() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    return path if path and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        reason = ("no Chromium found (install Debian's `chromium` package or set CHROMIUM_PATH); "
                  "the browser tests need one")
        if in_ci():
            pytest.fail(f"{reason}, and under CI=true they must run, not skip", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium_path: str) -> dict:
    """pytest-playwright's launch options, pointed at the system Chromium."""
    return {**browser_type_launch_args, "executable_path": chromium_path, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Relative addresses in page.goto() go to pytest-django's live server."""
    return live_server.url


@pytest.fixture(autouse=True)
def _live_server_with_shared_data(live_server) -> None:
    """Every browser test uses the live server, so pytest-django gives it a transactional database:
    rows the test writes are committed and visible to the server's thread, and the other way round."""


@pytest.fixture(autouse=True)
def _short_timeouts(page: Page) -> None:
    # A local server answers in milliseconds; fail fast instead of hanging for 30 s per step.
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)


@pytest.fixture
def sign_in(page: Page):
    """Sign in through the real login form, as a person would; lands on the customer list."""

    def sign_in_as(agent: Agent) -> None:
        page.goto(reverse("login"))
        page.get_by_label("E-mail address").fill(agent.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".whoami-email")).to_have_text(agent.email)
        expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()

    return sign_in_as
