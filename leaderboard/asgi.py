"""The ASGI application that production serves (gunicorn.conf.py, uvicorn workers).

Two Django handlers share each worker, chosen by path:

- Requests that wait on providers (the OpenAI-compatible API, the playground's runs)
  go to Django's ASGI handler. The API's views are async: a call waiting 20 s on a
  provider holds a coroutine, not a thread.
- Everything else (pages, votes, the data API, static files, the admin) goes to
  Django's WSGI handler in a pool of WEB_THREADS threads (a2wsgi). Under the ASGI
  handler a sync view crosses between the event loop and a thread once per
  middleware; here a request crosses once. Measured with the production command on
  2 cores: 5.2 ms of server CPU per /healthz under the ASGI handler, 1.1 ms here
  (0.7 ms with sync gunicorn workers).
"""

import os

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")

# A path that starts with one of these may wait on a provider for as long as it takes.
WAITS_ON_PROVIDERS = ("/openai/", "/playground/run")

_waiting = get_asgi_application()
_quick = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)


async def application(scope, receive, send):
    if scope["type"] == "http" and not scope["path"].startswith(WAITS_ON_PROVIDERS):
        return await _quick(scope, receive, send)
    return await _waiting(scope, receive, send)
