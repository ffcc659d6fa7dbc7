"""Exposure limits: each arena image is shown in at most ARENA_MAX_IMPRESSIONS matchups,
then retired; the sampler moves on to pairs with fresh images; duplicates never show."""

import threading
from collections import Counter

import httpx
import pytest
from django.db.models import Q

from leaderboard.arena import pool, services
from leaderboard.models import ArenaMode, Generation, Matchup
from tests.arena.builders import add_generation, build_arena
from tests.arena.pages import open_arena

pytestmark = pytest.mark.django_db


def serve(voter):
    return services.serve_matchup(voter=voter, mode=ArenaMode.TEXT_TO_IMAGE)


def shown_in(generation) -> int:
    return Matchup.objects.filter(Q(generation_a=generation) | Q(generation_b=generation)).count()


def test_an_image_is_retired_after_its_last_allowed_matchup_and_never_served_again(db, settings):
    settings.ARENA_MAX_IMPRESSIONS = 3
    build_arena(models=2, challenges=1, images=2)  # 2 images per model: 6 matchups in all
    served = [serve(f"{n:064d}") for n in range(10)]
    assert sum(m is not None for m in served) == 6
    assert served[6:] == [None] * 4
    for generation in Generation.objects.all():
        assert generation.impressions == shown_in(generation) == 3
        assert generation.pool == "retired" and generation.retired_at is not None


def test_a_worker_with_a_stale_catalog_does_not_serve_an_image_retired_elsewhere(db, settings):
    settings.ARENA_POOL_CACHE_S = 3600
    settings.ARENA_MAX_IMPRESSIONS = 50
    world = build_arena(models=2, challenges=1, images=2)
    pool.arena_catalog(ArenaMode.TEXT_TO_IMAGE, refresh=True)  # this worker's cached view
    used_up = world.generations[0]
    # Another worker served its last matchup meanwhile.
    Generation.objects.filter(pk=used_up.pk).update(impressions=50, pool="retired")
    for n in range(20):
        matchup = serve(f"{n:064d}")
        assert used_up.pk not in (matchup.generation_a_id, matchup.generation_b_id)
    assert Generation.objects.get(pk=used_up.pk).impressions == 50  # nothing counted twice


def test_the_sampler_skips_a_pair_whose_images_are_all_retired(db, settings):
    settings.ARENA_MAX_IMPRESSIONS = 2
    world = build_arena(models=3, challenges=1, images=1)
    first, second, third = world.models
    Generation.objects.filter(offering__image_model=third).update(pool="retired")
    pairs = Counter()
    for n in range(2):
        matchup = serve(f"{n:064d}")
        pairs[frozenset((matchup.model_a_id, matchup.model_b_id))] += 1
    assert pairs == {frozenset((first.pk, second.pk)): 2}
    assert serve("e" * 64) is None  # used up: nothing rather than a retired image


def test_showcase_images_and_pixel_duplicates_are_never_served(db):
    world = build_arena(models=2, challenges=1, images=1)
    challenge = world.challenges[0]
    showcase = [add_generation(o, challenge, variant=5, pool="showcase") for o in world.offerings]
    duplicate = add_generation(world.offerings[0], challenge, variant=6, pool="duplicate")
    never = {g.pk for g in showcase} | {duplicate.pk}
    for n in range(30):
        matchup = serve(f"{n:064d}")
        assert not never & {matchup.generation_a_id, matchup.generation_b_id}


def test_one_voter_gets_every_fresh_pair_and_prompt_once_then_nothing(db):
    build_arena(models=4, challenges=3, images=4)  # 6 pairs x 3 prompts = 18
    voter = "d" * 64
    served = []
    while (matchup := serve(voter)) is not None:
        served.append(matchup)
    assert len(served) == 18
    images = [g for m in served for g in (m.generation_a_id, m.generation_b_id)]
    assert len(images) == len(set(images)) == 36
    pair_prompts = {(m.challenge_id, frozenset((m.model_a_id, m.model_b_id))) for m in served}
    assert len(pair_prompts) == 18


@pytest.mark.django_db(transaction=True)
def test_simultaneous_serves_never_pass_the_impression_cap(live_server, settings):
    settings.ARENA_MAX_IMPRESSIONS = 5
    build_arena(models=2, challenges=1, images=2)  # room for exactly 10 matchups
    requests = 24
    barrier = threading.Barrier(requests)
    statuses = [None] * requests

    def next_matchup(n):
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            barrier.wait()
            response = client.get("/arena/next?mode=t2i", headers={"Accept": "application/json"})
            statuses[n] = (response.status_code, response.text[:3000])

    threads = [threading.Thread(target=next_matchup, args=(n,)) for n in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in statuses} == {200}, statuses
    served = [body for _, body in statuses if '"matchup": null' not in body]
    assert len(served) == Matchup.objects.count() == 10
    for generation in Generation.objects.all():
        assert generation.impressions == shown_in(generation) == 5


def test_a_served_matchup_keeps_its_images_after_they_leave_the_pool(world, voter):
    page = open_arena(voter)
    voter.post(page.vote_url, {"outcome": "a"})
    # Both images retired, or sorted into other pools by an upgrade, after the serve.
    matchup = Matchup.objects.get()
    Generation.objects.filter(pk=matchup.generation_a_id).update(pool="retired")
    Generation.objects.filter(pk=matchup.generation_b_id).update(pool="duplicate")
    pool.clear_cache()
    for url in page.image_urls:
        assert voter.get(url).status_code == 200, url
