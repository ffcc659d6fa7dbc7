"""The production server's worker class (gunicorn.conf.py): uvicorn, set for Django.

Django reads X-Forwarded-For and X-Forwarded-Proto itself, under its own settings
(ARENA_TRUSTED_PROXIES, TRUST_X_FORWARDED_PROTO), so uvicorn must not rewrite the
client address and scheme first (``proxy_headers`` off). Django has no lifespan
handler, so uvicorn need not probe for one.
"""

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "httptools", "lifespan": "off", "proxy_headers": False}
