"""Production server configuration, used by the README's command:

    .venv/bin/gunicorn leaderboard.asgi:application -c gunicorn.conf.py

gunicorn manages uvicorn workers (ASGI). The API's views are async, so a call waiting
on a slow provider holds a coroutine, not a worker: pages, votes and /healthz keep
answering however many API calls are in flight (tests/benchmarks/api_isolation.py).
Pages, votes and static files run in a pool of WEB_THREADS threads beside the event
loop, under Django's WSGI handler (leaderboard/asgi.py routes by path).
Any value can be overridden on the command line (e.g. --bind, --workers).
"""

import os

from leaderboard.settings import GATEWAY_REQUEST_TIMEOUT_S

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "leaderboard.server.Worker"
# The worker's event loop must check in with the master this often; the loop is never
# blocked for long (blocking work runs in threads), so this is not a request timeout.
timeout = 30
# On restart or shutdown, in-flight API calls get their full budget to finish.
graceful_timeout = GATEWAY_REQUEST_TIMEOUT_S + 10
keepalive = 5
