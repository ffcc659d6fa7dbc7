"""``python -m bench smoke``: one cheapest request per keyed offering, under a cap."""

from decimal import Decimal

from bench.cli import main
from leaderboard.models import BenchRun, BenchSample
from tests.bench.builders import challenge, image_model, offering, provider, simulated_catalog

KEY_ENV = "PAIRWISE_TEST_SMOKE_KEY"


def smoke(database_url, media_root, simulator, *args):
    return main(
        [
            "smoke",
            "--database-url",
            database_url,
            "--media-root",
            str(media_root),
            "--provider-url",
            f"simulated={simulator.base_url}",
            *args,
        ]
    )


def test_a_smoke_run_sends_one_cheapest_request_per_keyed_offering_and_prints_each(
    database_url, media_root, simulator, capsys, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, "sk-smoke-test-key-0123456789")
    simulated_catalog(("replicate", "fal_queue"), api_key_env=KEY_ENV)
    unkeyed = provider("paid", api_key_env="PAIRWISE_TEST_UNSET_KEY")
    offering(unkeyed, image_model("paid-model"), "bfl")
    challenge("fox")
    challenge("cat", mode="edit", references=1)

    code = smoke(database_url, media_root, simulator, "--offerings", "simulated", "paid")

    out = capsys.readouterr().out
    assert code == 0, out
    assert "skip  paid (1 offerings): PAIRWISE_TEST_UNSET_KEY is not set" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("simulated/")}
    assert set(lines) == {"simulated/sim-replicate", "simulated/sim-fal-queue"}
    for line in lines.values():
        # 512x512 is billed as one megapixel, like 1024x1024, and comes back sooner.
        assert " 512x512 jpeg  $0.0300  ok  ttfb " in line and " ms, total " in line
    assert "total: 2 sent, 2 ok, $0.0600 spent" in out
    run = BenchRun.objects.get()
    assert run.suite == "smoke" and run.status == "finished"
    assert run.spent_usd == Decimal("0.06") and run.samples.count() == 2
    assert not BenchSample.objects.filter(challenge__slug="cat").exists()
    assert "sk-smoke" not in out


def test_the_default_cap_of_ten_cents_leaves_the_rest_unsent_and_says_so(
    database_url, media_root, simulator, capsys, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, "sk-smoke-test-key-0123456789")
    simulated_catalog(api_key_env=KEY_ENV)  # five offerings at $0.03
    challenge("fox")

    code = smoke(database_url, media_root, simulator)

    out = capsys.readouterr().out
    assert code == 1
    assert out.count("  ok  ttfb ") == 3
    assert out.count("not sent: spending cap of $0.10 reached") == 2
    assert "total: 3 sent, 3 ok, $0.0900 spent" in out
    assert len(simulator.simulator.jobs) == 3


def test_a_smoke_run_without_any_key_sends_nothing_and_fails(
    database_url, media_root, simulator, capsys
):
    simulated_catalog(("replicate",), api_key_env="PAIRWISE_TEST_UNSET_KEY")
    challenge("fox")

    code = smoke(database_url, media_root, simulator)

    out = capsys.readouterr().out
    assert code == 1 and "nothing sent: no offering has its key set" in out
    assert not BenchRun.objects.exists() and not simulator.simulator.jobs


def test_a_smoke_run_needs_a_text_to_image_challenge(database_url, media_root, simulator, capsys):
    simulated_catalog(("replicate",))

    code = smoke(database_url, media_root, simulator)

    assert code == 2
    assert "no active text-to-image challenge" in capsys.readouterr().err
