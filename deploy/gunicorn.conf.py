"""gunicorn settings for the `web` process (Procfile). Every value can be overridden by the
environment variable named beside it, or by GUNICORN_CMD_ARGS."""

import os

# Workers: one per core is the measured sweet spot for this CPU-bound app (docs/benchmarks.md,
# "HTTP"); WEB_CONCURRENCY is the usual name platforms set.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# nginx buffers slow clients, so a sync worker never waits on a phone's connection; a request
# that takes longer than this is killed and logged (a report PDF renders in well under it).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never grows without bound — rarely: at 2,000 a
# worker restarted every few seconds under load, emptying its caches (p99 ~1 s, throughput
# halved: docs/benchmarks.md, "HTTP").
max_requests = 100_000
max_requests_jitter = 10_000
# Our own request lines (portal/lib/logs.py) replace gunicorn's access log.
accesslog = None
errorlog = "-"
# Only the proxy on this machine may set X-Forwarded-Proto for wsgi.url_scheme.
forwarded_allow_ips = "127.0.0.1,::1"
proc_name = "accueil-web"
