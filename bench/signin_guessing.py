"""Password guessing against the sign-in page, and a signed-in page's latency meanwhile.

    .venv/bin/python bench/signin_guessing.py [--guessers 12] [--seconds 30] [--failure-limit 5]

Serves the portal with gunicorn (production settings, the default password hasher, a scratch SQLite
database unless DATABASE_URL is given) on a free loopback port, signs one agent in, then:

1. the signed-in Customers page alone (baseline);
2. the same page while GUESSERS threads post wrong passwords for admin@ as fast as the server answers.

It prints the guesses the server checked (answered as a wrong password, i.e. hashed), those refused
by the lockout (429, not hashed), the right password's answer during the lockout, and the page's
median and p95. `--failure-limit 100000` shows the same load with the lockout out of the way.
Loopback only, bounded in time; run it on an otherwise idle machine.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-only passphrase 2026"  # noqa: S105 - a scratch database's agent
EMAIL = "admin@partner.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database_url: str, failure_limit: int) -> dict:
    return {**os.environ, "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40, "DATABASE_URL": database_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SESSION_COOKIE_SECURE": "false", "DJANGO_CSRF_COOKIE_SECURE": "false",
            "REQUIRE_MFA": "false", "SIGN_IN_FAILURE_LIMIT": str(failure_limit),
            "DJANGO_LOG_LEVEL": "ERROR", "ACTIVITY_LOG_KEY": "bench-only-activity-log-key-" + "k" * 32}


def prepare(env: dict) -> None:
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    # A run before this one locked the bench agent out: start unlocked.
    subprocess.run([*manage, "axes_reset"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    code = ("from portal.models import Agent; from customers.models import Customer\n"
            f"Agent.objects.get_or_create(email='{EMAIL}', defaults={{'role': 'admin_agent'}})\n"
            f"a = Agent.objects.get(email='{EMAIL}'); a.set_password('{PASSWORD}'); a.save()\n"
            "[Customer.objects.get_or_create(domain=f'c{n}.onmicrosoft.com', "
            "defaults={'company_name': f'Contoso {n}'}) for n in range(25)]\n")
    subprocess.run([*manage, "shell", "-c", code], env=env, check=True, cwd=ROOT)


def csrf(session: requests.Session, base: str) -> str:
    page = session.get(f"{base}/accounts/login/", timeout=30).text
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def post_password(session: requests.Session, base: str, password: str) -> int:
    token = csrf(session, base)
    return session.post(f"{base}/accounts/login/", timeout=60, allow_redirects=False,
                        data={"csrfmiddlewaretoken": token, "username": EMAIL, "password": password},
                        headers={"Referer": f"{base}/accounts/login/"}).status_code


def guess(base: str, seconds: float) -> dict[int, int]:
    """One guesser: wrong passwords for admin@, as fast as the server answers, for `seconds`."""
    session, answers, end = requests.Session(), {}, time.monotonic() + seconds
    while time.monotonic() < end:
        status = post_password(session, base, "wrong guess")
        answers[status] = answers.get(status, 0) + 1
    return answers


def timings(session: requests.Session, url: str, seconds: float) -> list[float]:
    found, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        found.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return found


def summary(label: str, values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)
    return (f"{label}: {len(values)} requests, median {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guessers", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--failure-limit", type=int, default=5)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="signin-bench-")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    env = environment(database_url, args.failure_limit)
    prepare(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn with our own config
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "portal.wsgi"],
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"},
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(f"{scratch}/gunicorn.log", "w"))  # noqa: SIM115
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/livez", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        agent = requests.Session()
        assert post_password(agent, base, PASSWORD) == 302, "the bench agent could not sign in"
        page = f"{base}/customers/"
        print(f"gunicorn on {base}, 2 workers x 4 threads; {args.guessers} guessers for "
              f"{args.seconds:.0f} s; failure limit {args.failure_limit}")
        print(summary("signed-in page alone", timings(agent, page, min(10, args.seconds))))

        # Guessers in processes of their own, so that the page's timings are not the client's
        # own waits for its interpreter lock.
        with ProcessPoolExecutor(max_workers=args.guessers) as pool:
            started = time.monotonic()
            futures = [pool.submit(guess, base, args.seconds) for _ in range(args.guessers)]
            loaded = timings(agent, page, args.seconds)
            right = post_password(requests.Session(), base, PASSWORD)
            answers: dict[int, int] = {}
            for future in futures:
                for status, count in future.result().items():
                    answers[status] = answers.get(status, 0) + count
        minutes = (time.monotonic() - started) / 60
        checked, locked = answers.get(200, 0), answers.get(429, 0)
        print(summary("signed-in page under guessing", loaded))
        print(f"guesses checked (wrong password, hashed): {checked} = {checked / minutes:.1f} per minute")
        print(f"guesses refused by the lockout (429, not hashed): {locked} = "
              f"{locked / minutes:.0f} per minute")
        others = {status: count for status, count in answers.items() if status not in (200, 429)}
        print(f"other answers: {others or 'none'} (server log: {scratch}/gunicorn.log)")
        print(f"the right password during the guessing: {right} "
              f"({'refused, locked out' if right == 429 else 'signed in' if right == 302 else 'other'})")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
