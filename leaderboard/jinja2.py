"""The Jinja2 environment for site pages (the admin keeps Django templates)."""

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment, select_autoescape


def url(name, *args, **kwargs):
    return reverse(name, args=args or None, kwargs=kwargs or None)


def usd(value, digits=3):
    if value is None:
        return "—"
    return f"${value:,.{digits}f}"


def environment(**options):
    options.setdefault("autoescape", select_autoescape(default=True))
    env = Environment(**options)
    env.globals.update(static=static, url=url)
    env.filters.update(usd=usd)
    return env
