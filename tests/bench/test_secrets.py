"""No key, header or signed URL reaches a log line, the database or a rendered page.

A random canary key is sent to a simulator that answers 401 and 500 and echoes the
credential in its error bodies (as misbehaving gateways do); BFL successes carry
signed sample URLs. Then every output line, a full dump of every table and the
pages that show samples are searched.
"""

import logging
import os
import secrets
import subprocess
import sys

import sqlalchemy as sa
from django.contrib.auth.models import User

from bench.runner import run_benchmark
from leaderboard.models import BenchRun, BenchSample
from tests.bench.builders import (
    ALL_KINDS,
    MODEL_IDS,
    challenge,
    fast_profile,
    image_model,
    offering,
    provider,
)
from tests.bench.conftest import set_profile
from tests.support import REPO_ROOT

KEY_ENV = "PAIRWISE_TEST_CANARY_KEY"


def database_dump(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    lines = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            lines += [repr(tuple(row)) for row in connection.execute(sa.select(table))]
    engine.dispose()
    return "\n".join(lines)


def rendered_pages(client) -> str:
    admin = User.objects.create_superuser("admin", "admin@example.org", "x")
    client.force_login(admin)
    urls = [
        "/",
        "/admin/leaderboard/benchsample/",
        "/admin/leaderboard/benchrun/",
        "/admin/leaderboard/generation/",
    ]
    urls += [
        f"/admin/leaderboard/benchsample/{pk}/change/"
        for pk in BenchSample.objects.values_list("pk", flat=True)
    ]
    urls += [
        f"/admin/leaderboard/benchrun/{pk}/change/"
        for pk in BenchRun.objects.values_list("pk", flat=True)
    ]
    pages = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    return "\n".join(pages)


def test_a_canary_key_is_nowhere_after_401_and_500_answers_that_echo_it(
    database_url, media_root, simulator, client, caplog
):
    canary = "canary-" + secrets.token_hex(20)
    failing = {
        MODEL_IDS["replicate"]: {"failures": {"unauthorized": 1.0}},
        MODEL_IDS["fal_queue"]: {"failures": {"server_error": 1.0}},
        MODEL_IDS["fal_sync"]: {"failures": {"unauthorized": 1.0}},
        MODEL_IDS["openai_images"]: {"failures": {"server_error": 0.5, "unauthorized": 0.5}},
        "sim/bfl-failing": {"failures": {"unauthorized": 1.0}},
    }
    set_profile(simulator, fast_profile({"echo_credentials": True}, models=failing))
    paid = provider("paid", base_url="http://127.0.0.1:1", api_key_env=KEY_ENV)
    for kind in ALL_KINDS:
        offering(paid, image_model(f"paid-{kind.replace('_', '-')}"), kind)
    offering(paid, image_model("paid-bfl-failing"), "bfl", model_id="sim/bfl-failing")
    challenge("fox")
    env = {
        **os.environ,
        KEY_ENV: canary,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "LOG_LEVEL": "DEBUG",
    }

    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--suite",
            "tiny",
            "--repeat",
            "2",
            "--poll-interval-s",
            "0.01",
            "--provider-url",
            f"paid={simulator.base_url}",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    caplog.set_level(logging.DEBUG)
    run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        poll_interval_s=0.01,
        base_url_overrides={"paid": simulator.base_url},
        environ={KEY_ENV: canary},
        progress_stream=sys.stdout,
    )

    assert process.returncode == 0, process.stderr
    statuses = set(BenchSample.objects.values_list("status", flat=True))
    assert {"ok", "http_4xx", "http_5xx"} <= statuses
    assert BenchSample.objects.filter(http_status=401).exists()
    assert BenchSample.objects.filter(http_status__gte=500).exists()
    signatures = [
        job.signature for job in simulator.simulator.jobs.values() if job.protocol == "bfl"
    ]
    assert signatures
    haystacks = {
        "runner output": process.stdout + process.stderr,
        "log records": caplog.text,
        "database dump": database_dump(database_url),
        "rendered pages": rendered_pages(client),
    }
    for where, text in haystacks.items():
        assert canary not in text, where
        assert canary[:20] not in text and canary[-20:] not in text, where
        assert not any(signature in text for signature in signatures), where
        assert "sig=" not in text, where
    assert "HTTP 401" in haystacks["database dump"]
