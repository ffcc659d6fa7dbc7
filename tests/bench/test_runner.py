"""The runner against the simulator: rows, files, selection, caps, back-off, keys."""

from decimal import Decimal
from pathlib import Path

import pytest

from bench.runner import RunOptions, run_benchmark
from leaderboard.models import BenchRun, BenchSample, Generation
from tests.bench.builders import ALL_KINDS, challenge, fast_profile, simulated_catalog
from tests.bench.conftest import set_profile


def run(database_url, media_root, simulator, **options):
    options.setdefault("suite", "tiny")
    options.setdefault("poll_interval_s", 0.005)
    return run_benchmark(
        database_url,
        media_root,
        base_url_overrides={"simulated": simulator.base_url},
        **options,
    )


def test_a_run_fills_samples_and_generations_for_every_protocol(
    database_url, media_root, simulator
):
    offerings = simulated_catalog()
    challenge("lighthouse", "A lighthouse at dawn")
    challenge("fox", "A red fox in snow")

    summary = run(database_url, media_root, simulator, repeat=2, concurrency=4)

    assert summary.status == "finished"
    assert summary.counts == {"ok": 20}
    run_row = BenchRun.objects.get()
    assert run_row.status == "finished" and run_row.finished_at is not None
    assert run_row.suite == "tiny"
    samples = BenchSample.objects.filter(run=run_row)
    assert samples.count() == 20
    assert {s.offering_id for s in samples} == {o.id for o in offerings}
    for sample in samples:
        assert sample.status == "ok" and sample.source == "bench" and sample.mode == "t2i"
        assert (
            (sample.width, sample.height)
            == (96, 96)
            == (sample.requested_width, sample.requested_height)
        )
        assert 0 < sample.submit_ttfb_ms <= sample.generation_ms
        assert 0 < sample.ttfb_ms <= sample.generation_ms
        assert sample.generation_ms >= 25  # 5 ms queue + 20 ms processing, injected
        assert sample.cost_usd == Decimal("0.03")
        assert sample.generation.challenge_id == sample.challenge_id
    assert Generation.objects.count() == 20
    generation = Generation.objects.first()
    path = Path(media_root) / generation.image.name
    assert generation.image.name == f"generations/{generation.sha256[:2]}/{generation.sha256}.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert generation.bytes == path.stat().st_size and generation.content_type == "image/png"
    # A fresh base seed per run, plus the repetition: every run brings new pictures.
    seeds = set(Generation.objects.values_list("seed", flat=True))
    assert len(seeds) == 2 and max(seeds) - min(seeds) == 1
    # One showcase image per offering x challenge; the other is an arena candidate.
    pools = Generation.objects.values_list("offering_id", "challenge_id", "pool")
    assert sorted(pool for _, _, pool in pools) == ["arena"] * 10 + ["showcase"] * 10
    assert {(o, c) for o, c, pool in pools if pool == "showcase"} == {(o, c) for o, c, _ in pools}
    assert run_row.spent_usd == Decimal("0.6")


def test_edit_challenges_go_only_to_models_that_edit_with_their_references(
    database_url, media_root, simulator
):
    simulated_catalog(("replicate",), does_edit=False)
    editing = simulated_catalog(
        ("fal_queue", "openai_images", "bfl"), does_edit=True, provider_slug="editors"
    )
    challenge("bald-man", "Make him bald", mode="edit", references=2)

    summary = run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        poll_interval_s=0.005,
        base_url_overrides={"simulated": simulator.base_url, "editors": simulator.base_url},
    )

    assert summary.counts == {"ok": 3}
    assert set(BenchSample.objects.values_list("offering_id", flat=True)) == {o.id for o in editing}
    assert set(BenchSample.objects.values_list("mode", flat=True)) == {"edit"}
    assert [job.references for job in simulator.simulator.jobs.values()] == [2, 2, 2]


def test_a_provider_without_its_key_is_skipped_with_a_clear_message(
    database_url, media_root, simulator, capsys
):
    simulated_catalog(("replicate",), provider_slug="paid", api_key_env="PAIRWISE_TEST_MISSING_KEY")
    simulated_catalog(("openai_images",))
    challenge("fox")

    summary = run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        environ={},
        base_url_overrides={"simulated": simulator.base_url, "paid": simulator.base_url},
        progress_stream=__import__("sys").stdout,
    )

    out = capsys.readouterr().out
    assert (
        "skipping provider paid (1 offerings): "
        "environment variable PAIRWISE_TEST_MISSING_KEY is not set" in out
    )
    assert summary.counts == {"ok": 1} and summary.skipped_providers == ["paid"]
    assert "paid" in BenchRun.objects.get().note


def test_the_spending_cap_records_the_rest_as_skipped_without_sending_them(
    database_url, media_root, simulator
):
    simulated_catalog(("openai_images",))
    challenge("fox")

    summary = run(database_url, media_root, simulator, repeat=5, concurrency=1, max_cost_usd="0.07")

    assert summary.counts == {"ok": 2, "skipped": 3}
    assert len(simulator.simulator.jobs) == 2
    skipped = BenchSample.objects.filter(status="skipped")
    assert all("spending cap of $0.07 reached" in s.error for s in skipped)
    assert all(s.generation_ms is None and s.cost_usd is None for s in skipped)
    assert BenchRun.objects.get().spent_usd == Decimal("0.06")


def test_a_429_makes_the_runner_wait_for_retry_after_before_that_provider_again(
    database_url, media_root, simulator
):
    set_profile(simulator, fast_profile({"failures": {"rate_limited": 1.0}, "retry_after_s": 0.25}))
    simulated_catalog(("replicate",))
    challenge("fox")

    summary = run(database_url, media_root, simulator, repeat=3, concurrency=1)

    assert summary.counts == {"rate_limited": 3}
    assert simulator.simulator.jobs == {}  # refused on the create call: no job exists
    samples = list(BenchSample.objects.order_by("started_at"))
    gaps = [
        (b.started_at - a.started_at).total_seconds()
        for a, b in zip(samples, samples[1:], strict=False)
    ]
    assert all(gap >= 0.24 for gap in gaps), gaps
    assert all(s.http_status == 429 and s.status == "rate_limited" for s in samples)


def test_the_simulator_url_can_come_from_the_environment(database_url, media_root, simulator):
    simulated_catalog(("fal_sync",))
    challenge("fox")

    summary = run_benchmark(
        database_url,
        media_root,
        suite="tiny",
        environ={"PAIRWISE_SIMULATOR_URL": simulator.base_url},
    )

    assert summary.counts == {"ok": 1}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_protocol_reports_its_failures_as_samples(kind, database_url, media_root, simulator):
    set_profile(simulator, fast_profile({"failures": {"server_error": 1.0}}))
    simulated_catalog((kind,))
    challenge("fox")

    summary = run(database_url, media_root, simulator)

    sample = BenchSample.objects.get()
    assert summary.counts == {"http_5xx": 1}
    assert sample.generation is None and sample.http_status >= 500 and sample.error


def test_progress_is_a_redrawn_bar_on_a_terminal_and_plain_lines_otherwise(
    database_url, media_root, simulator
):
    import io

    from bench.writer import Progress

    simulated_catalog(("openai_images",))
    challenge("fox")
    terminal, log = io.StringIO(), io.StringIO()
    terminal.isatty = lambda: True

    for stream in (terminal, log):
        run(database_url, media_root, simulator, repeat=2, progress_stream=stream)

    assert "\r\033[K[" in terminal.getvalue() and "2/2" in terminal.getvalue()
    lines = [line for line in log.getvalue().splitlines() if line.startswith("sample ")]
    assert len(lines) == 2 and all(" simulated/sim-openai-images fox ok " in line for line in lines)
    assert Progress(3, None).is_tty is False


def test_images_are_decoded_and_stored_in_another_process_not_a_thread_of_the_runner(
    database_url, media_root, simulator, monkeypatch
):
    # A thread holding the GIL delays the loop's timestamps by up to the switch
    # interval; the runner's process must neither decode nor store.
    import bench.providers
    from bench.store import Store

    in_runner_process = []
    inspect_image, write_results = bench.providers.inspect_image, Store.write_results

    def spy_inspect(data):
        in_runner_process.append("decode")
        return inspect_image(data)

    def spy_write(self, records, media_root):
        in_runner_process.append("store")
        return write_results(self, records, media_root)

    monkeypatch.setattr(bench.providers, "inspect_image", spy_inspect)
    monkeypatch.setattr(Store, "write_results", spy_write)
    simulated_catalog(("openai_images", "replicate"))
    challenge("fox")

    summary = run(database_url, media_root, simulator, repeat=2)  # 96x96 PNGs, a few KB

    assert summary.counts == {"ok": 4} and summary.generations == 4
    assert in_runner_process == []
    assert BenchSample.objects.filter(run_id=summary.run_id).count() == 4


def test_a_ramp_spreads_the_first_requests_instead_of_sending_them_together(
    database_url, media_root, simulator
):
    set_profile(simulator, fast_profile({"processing_ms": 1000}))
    simulated_catalog(("openai_images",))
    challenge("fox")

    run(database_url, media_root, simulator, repeat=5, concurrency=5, ramp_s=0.8)

    sent = sorted(job.received_ns for job in simulator.simulator.jobs.values())
    gaps_s = [(later - earlier) / 1e9 for earlier, later in zip(sent, sent[1:], strict=False)]
    assert len(sent) == 5 and all(gap > 0.1 for gap in gaps_s), gaps_s


def test_a_run_whose_storing_process_dies_ends_failed_instead_of_hanging(
    database_url, media_root, simulator, monkeypatch
):
    import asyncio
    import os
    import signal

    import bench.runner
    from bench.runner import run_benchmark_async

    class DyingOffLoop(bench.runner.OffLoop):
        async def inspect(self, data):
            if self.generations:  # the second image: the child dies with a decode pending
                os.kill(self.child_pid, signal.SIGKILL)
            return await super().inspect(data)

    monkeypatch.setattr(bench.runner, "OffLoop", DyingOffLoop)
    simulated_catalog(("openai_images",))
    challenge("fox")

    summary = asyncio.run(
        asyncio.wait_for(
            run_benchmark_async(
                database_url,
                media_root,
                suite="tiny",
                repeat=3,
                concurrency=1,
                base_url_overrides={"simulated": simulator.base_url},
            ),  # fmt: skip
            timeout=60,
        )
    )

    assert summary.status == "failed" and summary.internal_errors >= 1
    assert "storing samples failed: ChildProcessError" in summary.note
    assert BenchRun.objects.get(pk=summary.run_id).status == "failed"


def test_a_run_takes_its_options_as_one_value_and_keywords_refine_it(
    database_url, media_root, simulator
):
    simulated_catalog(("replicate", "bfl"))
    challenge("fox")
    options = RunOptions(
        database_url=database_url,
        media_root=media_root,
        suite="tiny",
        repeat=3,
        poll_interval_s=0.005,
        base_url_overrides={"simulated": simulator.base_url},
    )

    summary = run_benchmark(options=options, offerings=["simulated/sim-replicate"])

    assert summary.counts == {"ok": 3}
    assert set(BenchSample.objects.values_list("offering__endpoint_kind", flat=True)) == {
        "replicate"
    }
    with pytest.raises(TypeError):
        run_benchmark(options=options, concurency=2)  # a misspelt option is refused
