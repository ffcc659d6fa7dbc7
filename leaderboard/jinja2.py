"""The Jinja2 environment for site pages (the admin keeps Django templates).

Filters only format: numbers arrive computed, templates decide how they read.
"""

from datetime import date, datetime
from decimal import Decimal

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment, select_autoescape

from bench.pricing import format_usd

DASH = "—"


def url(name, *args, **kwargs):
    return reverse(name, args=args or None, kwargs=kwargs or None)


def usd(value, digits=3):
    if value is None:
        return DASH
    return f"${value:,.{digits}f}"


def money(value):
    """A price as the price sheets write it: $0.015, $0.03, $1.00."""
    if value is None:
        return DASH
    return format_usd(value if isinstance(value, Decimal) else Decimal(str(round(value, 6))))


def ms(value):
    """Milliseconds with thousands separators: 17,157 ms."""
    return DASH if value is None else f"{value:,.0f} ms"


def seconds(value_ms):
    """Milliseconds shown as seconds: 17.2 s."""
    if value_ms is None:
        return DASH
    return f"{value_ms / 1000:,.1f} s" if value_ms < 100_000 else f"{value_ms / 1000:,.0f} s"


def percent(value, digits=1):
    """A fraction as a percentage: 0.9876 -> 98.8%."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def rating(value):
    return DASH if value is None else f"{value:.0f}"


def thousands(value):
    return DASH if value is None else f"{value:,}"


def number(value):
    """A Decimal without trailing zeros: Decimal("4.00") -> 4, Decimal("0.50") -> 0.5."""
    if value is None:
        return DASH
    return format(Decimal(value).normalize(), "f")


def when(value):
    """A UTC moment or a day, unambiguous: 2026-11-25 16:23 UTC."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def demo_data_exists() -> bool:
    """Whether the base template shows the demo notice: any simulated data on the site.

    One cached query (`queries.has_demo_data`); an error page rendered while the
    database is down shows no notice rather than failing itself.
    """
    from django.db import DatabaseError

    from leaderboard.pages import queries

    try:
        return queries.has_demo_data()
    except DatabaseError:
        return False


def environment(**options):
    options.setdefault("autoescape", select_autoescape(default=True))
    env = Environment(**options)
    env.globals.update(static=static, url=url, demo_data_exists=demo_data_exists)
    env.filters.update(
        usd=usd, money=money, ms=ms, seconds=seconds, percent=percent, rating=rating,
        thousands=thousands, when=when, number=number,
    )  # fmt: skip
    return env
