"""`manage.py ratings` and `stats` never run twice at once on one database."""

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from bench.lock import RunLock
from bench.store import make_engine
from leaderboard.management.locks import sqlalchemy_url
from tests.support import REPO_ROOT


def held_lock(database_url: str, name: str) -> RunLock:
    """The job's lock, taken as a running copy of the job would take it."""
    return RunLock(make_engine(database_url), name=name, what=f"`manage.py {name}`").acquire()


@pytest.mark.parametrize("job", ["ratings", "stats"])
def test_a_second_copy_exits_with_a_clear_message_and_status_1(tmp_path, job):
    # A real second process, as cron would start it, while the first holds the lock.
    database = tmp_path / "site.sqlite3"
    lock = held_lock(f"sqlite:///{database}", job)
    try:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
        env.pop("TEST_DATABASE_NAME", None)
        second = subprocess.run(
            [sys.executable, "manage.py", job],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        lock.release()

    assert second.returncode == 1, second.stdout + second.stderr
    assert f"another `manage.py {job}` is in progress on this database" in second.stderr
    assert "Traceback" not in second.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("job", ["ratings", "stats"])
def test_the_lock_is_per_job_and_per_database_and_let_go_after_the_run(job):
    # On the test database (SQLite file or PostgreSQL advisory lock): held -> refused;
    # the other job's lock does not stand in the way; released -> the job runs.
    url = sqlalchemy_url(connection.settings_dict)
    other = "stats" if job == "ratings" else "ratings"
    lock = held_lock(url, job)
    try:
        with pytest.raises(CommandError, match=f"another `manage.py {job}` is in progress"):
            call_command(job, stdout=io.StringIO())
        call_command(other, stdout=io.StringIO())
    finally:
        lock.release()
    call_command(job, stdout=io.StringIO())
    call_command(job, stdout=io.StringIO())  # the first run let go of its lock
