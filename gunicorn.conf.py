"""Production serving: `gunicorn -c gunicorn.conf.py portal.wsgi`.

Every value can come from the environment.
"""

import multiprocessing
import os

# Loopback unless told otherwise: a reverse proxy on the same host forwards to it. Set GUNICORN_BIND
# (e.g. 0.0.0.0:8000 in a container behind its own proxy) to listen elsewhere.
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# Threaded workers keep answering the arbiter's heartbeat while one thread streams a long CSV export,
# so an export is never killed by the worker timeout the way a sync worker's would be.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn reuses a kept-alive connection only after draining what the application left unread of a
# request's body, and drains at most this much: past it, it closes the connection, although the response
# already said "Connection: keep-alive" (a 413 for a 3 MB body, say), and the client's next request on it
# fails. The application cannot say "close" itself: gunicorn drops hop-by-hop headers it sets.
try:
    from gunicorn.http.parser import _DRAIN_MAX_BYTES as DRAINED_BY_GUNICORN
except ImportError:  # a gunicorn without the constant
    DRAINED_BY_GUNICORN = 64 * 1024


def pre_request(worker, req):
    """Answer a request whose body gunicorn might not drain with "Connection: close", and close after it.

    No page or API call of the portal takes a body that large (the API reads at most API_MAX_BODY_BYTES),
    so only requests that are refused anyway lose their connection. A chunked body has no length to
    compare: closed too.
    """
    worker.log.debug("%s %s", req.method, req.path)  # what gunicorn's default hook does
    lengths = [value for name, value in req.headers if name == "CONTENT-LENGTH"]
    chunked = any(name == "TRANSFER-ENCODING" for name, _value in req.headers)
    try:
        too_long = bool(lengths) and int(lengths[0]) > DRAINED_BY_GUNICORN
    except ValueError:
        too_long = True
    if chunked or too_long:
        req.force_close()
