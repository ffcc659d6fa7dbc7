"""``python -m bench run`` as cron runs it: crash safety, the run lock, SIGTERM, the CLI."""

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.cli import main
from bench.lock import RunLock
from bench.store import make_engine
from leaderboard.models import BenchRun, BenchSample
from tests.bench.builders import challenge, fast_profile, simulated_catalog
from tests.bench.conftest import set_profile
from tests.support import REPO_ROOT


def bench_process(database_url, media_root, simulator, *args, extra_env=None):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "PAIRWISE_SIMULATOR_URL": simulator.base_url,
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--suite",
            "tiny",
            "--poll-interval-s",
            "0.01",
            *args,
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(stream, predicate, limit_s=20):
    lines, deadline = [], time.monotonic() + limit_s
    for line in stream:
        lines.append(line)
        if predicate(lines) or time.monotonic() > deadline:
            break
    return lines


def test_killing_the_runner_keeps_every_finished_sample_and_frees_the_lock(
    database_url, media_root, simulator
):
    set_profile(simulator, fast_profile({"processing_ms": {"median": 60, "sigma": 0.5}}))
    simulated_catalog(("openai_images", "fal_queue"))
    challenge("fox")
    process = bench_process(
        database_url, media_root, simulator, "--repeat", "100", "--concurrency", "3"
    )

    lines = read_until(process.stdout, lambda seen: sum(s.startswith("sample ") for s in seen) >= 8)
    process.kill()
    process.wait()

    announced = {s.split(" id=")[1].split()[0] for s in lines if s.startswith("sample ")}
    stored = set(BenchSample.objects.values_list("provider_request_id", flat=True))
    assert len(announced) >= 8 and announced <= stored
    finished_by_server = {job.id for job in simulator.simulator.jobs.values() if job.last_byte_ns}
    assert len(finished_by_server - stored) <= 3 * 2, "more lost than the requests in flight"
    crashed = BenchRun.objects.get()
    assert crashed.status == "running"
    stored_costs = sum(sample.cost_usd or 0 for sample in crashed.samples.all())
    assert stored_costs > 0 and crashed.spent_usd == stored_costs

    follow_up = bench_process(database_url, media_root, simulator, "--repeat", "1")
    out, err = follow_up.communicate(timeout=60)

    assert follow_up.returncode == 0, err
    assert f"run {crashed.id} was left running by a runner that died; marked interrupted" in out
    crashed.refresh_from_db()
    assert crashed.status == "interrupted" and "runner died" in crashed.note
    assert BenchRun.objects.exclude(pk=crashed.pk).get().status == "finished"


def test_a_second_run_exits_at_once_while_the_first_holds_the_lock(
    database_url, media_root, simulator, capsys
):
    simulated_catalog(("openai_images",))
    challenge("fox")
    with RunLock(make_engine(database_url)):
        started = time.monotonic()
        code = main(
            [
                "run",
                "--suite",
                "tiny",
                "--database-url",
                database_url,
                "--media-root",
                str(media_root),
                "--provider-url",
                f"simulated={simulator.base_url}",
            ]
        )
        elapsed = time.monotonic() - started

    assert code == 75 and elapsed < 5
    err = capsys.readouterr().err
    assert "another benchmark run is in progress on this database" in err
    assert f"pid {os.getpid()}" in err
    assert not BenchRun.objects.exists() and not simulator.simulator.jobs


@pytest.mark.parametrize(("grace_s", "abandoned"), [("10", 0), ("0.2", 2)])
def test_sigterm_finishes_or_abandons_in_flight_requests_and_marks_the_run_interrupted(
    grace_s, abandoned, database_url, media_root, simulator
):
    set_profile(simulator, fast_profile({"processing_ms": 1200}))
    simulated_catalog(("replicate",))
    challenge("fox")
    process = bench_process(
        database_url,
        media_root,
        simulator,
        "--repeat",
        "10",
        "--concurrency",
        "2",
        "--grace-s",
        grace_s,
    )
    read_until(process.stdout, lambda seen: seen[-1].startswith("run "))
    while len(simulator.simulator.jobs) < 2:
        time.sleep(0.01)

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 1, err
    run = BenchRun.objects.get()
    assert run.status == "interrupted" and run.finished_at is not None
    assert f"interrupted by SIGTERM: {abandoned} in flight abandoned, 8 not started" in run.note
    assert BenchSample.objects.count() == 2 - abandoned
    assert "SIGTERM: sending no more requests" in out


def test_the_cli_runs_against_the_simulator_given_on_the_command_line(
    database_url, media_root, simulator, capsys
):
    simulated_catalog()
    challenge("fox")

    code = main(
        [
            "run",
            "--suite",
            "tiny",
            "--database-url",
            database_url,
            "--media-root",
            str(media_root),
            "--concurrency",
            "5",
            "--poll-interval-s",
            "0.01",
            "--provider-url",
            f"simulated={simulator.base_url}",
            "--quiet",
        ]
    )

    assert code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("run ") and "finished: 5 samples (5 ok), 5 generations" in out
    assert BenchSample.objects.filter(status="ok").count() == 5


def test_the_cli_refuses_unknown_offerings_and_bad_provider_urls(database_url, media_root, capsys):
    simulated_catalog(("bfl",))

    unknown = main(["run", "--database-url", database_url, "--offerings", "nope/none"])
    bad_url = main(["run", "--database-url", database_url, "--provider-url", "simulated"])

    err = capsys.readouterr().err
    assert unknown == 2 and "no active offering matches nope/none" in err
    assert "simulated/sim-bfl" in err
    assert bad_url == 2 and "--provider-url wants SLUG=http(s)://" in err


def test_a_sigterm_at_any_moment_of_the_first_seconds_leaves_every_run_row_terminal(
    database_url, media_root, simulator
):
    set_profile(simulator, fast_profile({"processing_ms": 80}))
    simulated_catalog(("openai_images", "replicate"))
    challenge("fox")
    # Blind delays over the first two seconds, then SIGTERMs aimed just after the run row
    # is inserted (its "run N:" line), where the runner is still setting up.
    tries = [("blind", index * 0.2) for index in range(10)]
    tries += [("after the run row", index * 0.003) for index in range(10)]

    for trigger, delay_s in tries:
        process = bench_process(
            database_url,
            media_root,
            simulator,
            "--repeat",
            "20",
            "--concurrency",
            "2",
            "--grace-s",
            "0.3",
        )
        if trigger != "blind":
            read_until(process.stdout, lambda seen: seen[-1].startswith("run "))
        time.sleep(delay_s)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err

    runs = list(BenchRun.objects.values_list("status", "note"))
    assert len(runs) >= 10, "too few runs started to test anything"
    # A row the next run had to close as "runner died" was left running by its own run.
    assert all(status in ("finished", "interrupted") for status, _ in runs), runs
    assert not [note for _, note in runs if "runner died" in note], runs
