"""One run spends at a time, whatever happens to the database underneath it."""

import os
import shlex
import shutil
import signal
import subprocess
import time

import pytest
from django.db import connection, connections

from bench.lock import RunLock, lock_path
from bench.store import make_engine
from leaderboard.models import BenchRun
from tests.bench.builders import challenge, fast_profile, simulated_catalog
from tests.bench.conftest import set_profile
from tests.bench.test_process import bench_process, read_until


def restart_command() -> list[str]:
    """``pg_ctlcluster <version> <name> restart`` for the cluster the tests' database is on.

    The cluster is ``PAIRWISE_PG_CLUSTER`` ("15 main") or the one ``pg_lsclusters`` lists
    on the database's port. Skips off PostgreSQL; fails in CI (CI=true) without the tools.
    """
    if connection.vendor != "postgresql":
        pytest.skip("restarts the PostgreSQL server the tests run on")
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs these tests on PostgreSQL: pg_ctlcluster must be installed")
        pytest.skip("pg_ctlcluster is not installed")
    cluster = os.environ.get("PAIRWISE_PG_CLUSTER")
    if not cluster:
        port = str(connection.settings_dict.get("PORT") or 5432)
        listed = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
        ).stdout.split("\n")
        on_port = [line.split()[:2] for line in listed if line.split()[2:3] == [port]]
        if not on_port:
            pytest.fail(f"no PostgreSQL cluster on port {port} in pg_lsclusters")
        cluster = " ".join(on_port[0])
    return ["pg_ctlcluster", *shlex.split(cluster), "restart"]


def test_a_database_restart_mid_run_stops_the_spending_and_keeps_a_second_run_out(
    database_url, media_root, simulator
):
    command = restart_command()
    set_profile(simulator, fast_profile({"processing_ms": 300}))
    simulated_catalog(("openai_images", "replicate"))
    challenge("fox")
    first = bench_process(
        database_url,
        media_root,
        simulator,
        "--repeat",
        "50",
        "--concurrency",
        "2",
        "--grace-s",
        "60",
    )
    read_until(first.stdout, lambda seen: sum(s.startswith("sample ") for s in seen) >= 2)
    # The requests in flight during the restart take long: the first run is still alive
    # (waiting for them) when the second one tries to start.
    set_profile(simulator, fast_profile({"processing_ms": 60_000}))
    sent_before = len(simulator.simulator.jobs)
    while len(simulator.simulator.jobs) < sent_before + 2:
        time.sleep(0.01)

    subprocess.run(command, check=True, timeout=120, capture_output=True)
    restarted_ns = time.monotonic_ns()
    connections.close_all()  # the test's own session died with the server
    second = bench_process(database_url, media_root, simulator, "--repeat", "1")
    second_out, second_err = second.communicate(timeout=60)
    was_running = first.poll() is None
    first.send_signal(signal.SIGTERM)  # the first stops waiting for its long requests
    time.sleep(0.5)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=60)

    assert was_running, "the first run ended before the second tried to start"
    assert second.returncode == 75, second_err
    assert "another benchmark run is in progress on this database" in second_err
    assert first.returncode == 1 and "Traceback" not in err, err
    assert "lost the run lock" in out
    run = BenchRun.objects.get()
    assert run.status == "interrupted" and "lost the run lock" in run.note
    assert "interrupted by SIGTERM: 2 in flight abandoned" in run.note
    assert not [job for job in simulator.simulator.jobs.values() if job.received_ns > restarted_ns]
    assert run.spent_usd == sum(sample.cost_usd or 0 for sample in run.samples.all()) > 0


def test_a_second_lock_on_the_same_database_is_refused_and_free_again_after_release(
    database_url,
):
    engine = make_engine(database_url)
    with RunLock(engine) as held:
        with pytest.raises(Exception, match="another benchmark run is in progress"):
            RunLock(engine).acquire()
        assert not held.is_lost
    with RunLock(engine):
        pass
    assert lock_path(engine).exists()
    engine.dispose()


def test_the_host_lock_file_names_the_database_but_never_its_password():
    engine = make_engine("postgresql+psycopg://bench:s3cret-pass@db.example:5433/pairwise")

    path = lock_path(engine)

    assert "s3cret" not in str(path) and path.name.startswith("pairwise-bench-")
    other = lock_path(make_engine("postgresql+psycopg://bench:x@db.example:5433/other"))
    assert other != path
