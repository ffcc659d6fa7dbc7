"""A run split across hosts: `bench run --shard K/N --region NAME`."""

import pytest

from bench.cli import EXIT_USAGE, main
from bench.lock import LockHeld, RunLock
from bench.plan import Shard
from bench.runner import run_benchmark
from bench.store import make_engine
from leaderboard.models import BenchRun, BenchSample
from leaderboard.pages.cache import forget_snapshot
from tests.bench.builders import challenge, simulated_catalog

REGIONS = {1: "eu-west", 2: "us-east", 3: "ap-south"}


def test_a_shard_is_k_of_n():
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard.parse(" 1 / 4 ")) == "1/4"
    for text in ("0/3", "4/3", "3", "a/b", "1/0", ""):
        with pytest.raises(ValueError, match="--shard"):
            Shard.parse(text)


def test_every_offering_and_challenge_pair_belongs_to_exactly_one_shard():
    pairs = [(f"p{p}/m{m}", f"c{c}") for p in range(4) for m in range(6) for c in range(9)]
    for count in (1, 2, 3, 7):
        owners = [[k for k in range(1, count + 1) if Shard(k, count).owns(*pair)] for pair in pairs]
        assert all(len(owner) == 1 for owner in owners)
        if count > 1:  # every shard gets a fair part of the 216 pairs
            sizes = [sum(owner == [k] for owner in owners) for k in range(1, count + 1)]
            assert min(sizes) > len(pairs) / count / 2


def test_three_shards_measure_the_whole_plan_once_each_from_its_region(
    database_url, media_root, simulator, client, capsys
):
    offerings = simulated_catalog()
    for slug in ("lighthouse", "fox", "market"):
        challenge(slug)

    for index, region in REGIONS.items():
        summary = run_benchmark(
            database_url, media_root, suite="tiny", repeat=2, poll_interval_s=0.005,
            base_url_overrides={"simulated": simulator.base_url},
            shard=Shard(index, 3), region=region,
        )  # fmt: skip
        assert summary.status == "finished"

    samples = BenchSample.objects.all()
    # 5 protocols x 3 challenges x 2 repetitions, each measured once over the three runs.
    assert samples.count() == len(offerings) * 3 * 2
    pairs = {}
    for sample in samples:
        pairs.setdefault((sample.offering_id, sample.challenge_id), set()).add(sample.run_id)
    assert len(pairs) == len(offerings) * 3
    assert all(len(runs) == 1 for runs in pairs.values())  # a pair stays on one shard
    runs = {run.shard: run for run in BenchRun.objects.all()}
    assert sorted(runs) == ["1/3", "2/3", "3/3"]
    for index, region in REGIONS.items():
        run = runs[f"{index}/3"]
        assert run.region == region
        assert set(run.samples.values_list("region", flat=True)) <= {region}

    # The stats and the provider page show the figures per region.
    capsys.readouterr()
    assert main(["stats", "--database-url", database_url, "--by-region"]) == 0
    printed = capsys.readouterr().out
    assert all(f"== region {region}" in printed for region in REGIONS.values())
    forget_snapshot()
    page = client.get("/providers/simulated/").content.decode()
    table = page.split('id="regions"', 1)[1].split("</table>", 1)[0]
    assert all(f"<td>{region}</td>" in table for region in REGIONS.values())
    forget_snapshot()


def test_shards_run_side_by_side_but_each_only_once_and_never_beside_a_whole_run(database_url):
    engine = make_engine(database_url)
    with RunLock(engine, shard=Shard(1, 2)):
        with RunLock(engine, shard=Shard(2, 2)):
            with pytest.raises(LockHeld, match="shard 1/2"):
                RunLock(engine, shard=Shard(1, 2)).acquire()
            with pytest.raises(LockHeld, match="another benchmark run is in progress"):
                RunLock(engine).acquire()
    with RunLock(engine):
        with pytest.raises(LockHeld):
            RunLock(engine, shard=Shard(2, 2)).acquire()
    with RunLock(engine, shard=Shard(1, 2)):
        pass
    engine.dispose()


def test_a_bad_shard_or_region_is_a_usage_error(database_url, capsys):
    assert main(["run", "--database-url", database_url, "--shard", "3/2"]) == EXIT_USAGE
    assert "K must be between 1 and N" in capsys.readouterr().err
    assert main(["run", "--database-url", database_url, "--region", "eu west"]) == EXIT_USAGE
    assert "--region wants a short name" in capsys.readouterr().err
    assert not BenchRun.objects.exists()
