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
