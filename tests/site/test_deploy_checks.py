"""`manage.py check --deploy` warns when the arena cannot see its visitors' addresses."""

import io

from django.core.management import call_command

from leaderboard.checks import check_arena_behind_a_proxy


def warnings_of(settings, **values):
    for name, value in values.items():
        setattr(settings, name, value)
    return [w.id for w in check_arena_behind_a_proxy(None)]


def test_a_proxy_without_trusted_proxies_is_warned_about(settings):
    proxied = ("HTTP_X_FORWARDED_PROTO", "https")
    assert warnings_of(settings, SECURE_PROXY_SSL_HEADER=proxied, ARENA_TRUSTED_PROXIES=[]) == [
        "pairwise.W001"
    ]
    trusted = ["10.0.0.0/8"]
    assert (
        warnings_of(settings, SECURE_PROXY_SSL_HEADER=proxied, ARENA_TRUSTED_PROXIES=trusted) == []
    )
    assert warnings_of(settings, SECURE_PROXY_SSL_HEADER=None, ARENA_TRUSTED_PROXIES=[]) == []


def test_check_deploy_shows_the_warning_with_the_setting_to_use(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ARENA_TRUSTED_PROXIES = []
    out, err = io.StringIO(), io.StringIO()
    call_command("check", deploy=True, stdout=out, stderr=err)
    text = out.getvalue() + err.getvalue()
    assert "pairwise.W001" in text and "ARENA_TRUSTED_PROXIES" in text
