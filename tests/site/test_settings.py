"""Settings come from the environment and fail loudly when wrong."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.support import REPO_ROOT


def run_manage(*args, **env):
    scrubbed = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in scrubbed}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_secret_key_refuses_to_start():
    result = run_manage("check", DEBUG="0", ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    result = run_manage("check", DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is empty" in result.stderr


def test_a_malformed_boolean_is_named_in_the_error():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_an_unsupported_database_url_is_refused():
    result = run_manage("check", DATABASE_URL="mysql://u:p@localhost/db")
    assert result.returncode != 0
    assert "supports SQLite and PostgreSQL" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="k" * 20 + "a1B2c3D4e5F6g7H8i9J0" + "z" * 20,
        ALLOWED_HOSTS="example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite pragmas only apply to the SQLite backend")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0].lower() == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db
def test_the_database_is_the_one_ci_asked_for():
    """CI runs the suite on both databases; a silent fallback to SQLite would hide that."""
    expected = os.environ.get("PAIRWISE_EXPECT_DB")
    if expected is None:
        pytest.skip("PAIRWISE_EXPECT_DB is only set in CI")
    assert connection.vendor == expected


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "a1B2c3D4e5F6g7H8i9J0" + "z" * 20,
    "ALLOWED_HOSTS": "example.org",
}


def test_the_deploy_check_passes_behind_a_proxy_that_redirects_to_https():
    """The README's proxy setup (issue 12: W008 failed the check with SECURE_SSL_REDIRECT=0)."""
    for proxy in (
        {"PROXY_REDIRECTS_HTTPS": "1"},
        {
            "PROXY_REDIRECTS_HTTPS": "1",
            "SECURE_SSL_REDIRECT": "0",
            "TRUST_X_FORWARDED_PROTO": "1",
            "ARENA_TRUSTED_PROXIES": "10.0.0.1",
        },
    ):
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **proxy)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_check_still_warns_when_nothing_redirects_to_https():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, SECURE_SSL_REDIRECT="0"
    )

    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_static_files_carry_the_content_security_policy(client, settings):
    """WhiteNoise answers static files before the CSP middleware used to run (issue 12)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True

    response = client.get("/static/css/site.css")

    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
