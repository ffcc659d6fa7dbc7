"""Downloading the vote export while `manage.py ratings` publishes snapshots never fails.

Issue 12: 2 of 17,027 downloads answered 500 while snapshots were published: the view
checked that the export file existed, another worker (on the newer snapshot) replaced
and deleted it, then the view opened the path. Here reader threads download while the
published snapshot flips between two versions as fast as the database allows; the
thread switch interval is shortened so the gap between any check and any open is hit.
"""

import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from leaderboard.models import Leaderboard
from tests.pages import builders

READERS = 4
DURATION_S = 3.0


@pytest.fixture
def switchy():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_downloads_survive_snapshots_replacing_the_export(transactional_db, settings, switchy):
    builders.catalog()
    builders.board({"flux.2-pro": (1100, 1080, 1120), "seedream-4": (1000, 980, 1020)})
    builders.votes("flux.2-pro", "seedream-4", a_wins=30, b_wins=20, ties=5)
    settings.PAGES_SNAPSHOT_CHECK_S = 0
    moments = [timezone.now(), timezone.now() + timedelta(seconds=1)]
    failures, bodies, stop = [], [], threading.Event()

    def read():
        client = Client(raise_request_exception=False)
        try:
            while not stop.is_set():
                response = client.get("/exports/votes-t2i.csv")
                if response.status_code != 200:
                    failures.append(response.status_code)
                    continue
                bodies.append(b"".join(response.streaming_content))
        finally:
            connection.close()

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    flips = 0
    deadline = time.monotonic() + DURATION_S
    while time.monotonic() < deadline and not failures:
        Leaderboard.objects.filter(is_current=True).update(computed_at=moments[flips % 2])
        flips += 1
    stop.set()
    for reader in readers:
        reader.join()

    print(f"{len(bodies)} downloads, {flips} snapshot flips")
    assert failures == []
    assert len(bodies) > 20 and flips > 20
    header = b"model_a,model_b,winner,category,challenge,timestamp\n"
    assert all(body.startswith(header) and body.count(b"\n") == 56 for body in bodies)
