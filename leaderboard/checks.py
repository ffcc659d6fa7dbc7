"""System checks for deployments, shown by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_arena_behind_a_proxy(app_configs, **kwargs):
    """Behind a proxy every request comes from the proxy's address: without
    ARENA_TRUSTED_PROXIES the arena's per-IP limits and per-network detection see one
    client, so one bot can spend the whole site's budget."""
    is_behind_proxy = bool(getattr(settings, "SECURE_PROXY_SSL_HEADER", None))
    if is_behind_proxy and not settings.ARENA_TRUSTED_PROXIES:
        return [
            Warning(
                "The site is behind a proxy (TRUST_X_FORWARDED_PROTO / SECURE_PROXY_SSL_HEADER "
                "is set) but ARENA_TRUSTED_PROXIES is empty, so the arena sees every voter "
                "at the proxy's address: per-IP vote limits, new-voter limits and network "
                "detection treat all visitors as one.",
                hint="Set ARENA_TRUSTED_PROXIES to the proxy's IP addresses or networks "
                "(comma-separated, e.g. ARENA_TRUSTED_PROXIES=10.0.0.0/8).",
                id="pairwise.W001",
            )
        ]
    return []
