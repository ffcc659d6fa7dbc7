"""The serving arena: one model, two providers, the same prompt and seed; blind until
the vote, served once, votes kept apart from the model arena's."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from leaderboard.arena import serving
from leaderboard.arena.serving_demo import (
    ensure_serving_demo_generations,
    simulate_serving_crowd,
)
from leaderboard.models import (
    BenchSample,
    Generation,
    Matchup,
    Offering,
    Provider,
    ServingBoard,
    ServingVote,
    Vote,
    VoterExclusion,
)
from leaderboard.serving_boards import refresh_serving_boards
from tests.arena.builders import add_generation, build_arena

pytestmark = pytest.mark.django_db
PROVIDER_NAMES = ("Testprov Cloud", "Second Cloud", "Third Cloud")


@pytest.fixture
def served_world(db):
    """One model served by three providers, two challenges, seeds 1 and 2 each: every
    (challenge, seed) has an image from each provider. Plus a second model with one
    offering, so the model arena has something too."""
    world = build_arena(models=2, challenges=2, images=0)
    model = world.models[0]
    offerings = [world.offerings[0]]
    for slug, name in (("second", PROVIDER_NAMES[1]), ("third", PROVIDER_NAMES[2])):
        provider = Provider.objects.create(slug=slug, name=name, base_url="http://127.0.0.1:9")
        offerings.append(
            Offering.objects.create(
                image_model=model,
                provider=provider,
                provider_model_id="x",
                endpoint_kind="openai_images",
                pricing={"unit": "image", "usd": "0.01"},
            )
        )
    for challenge in world.challenges:
        add_generation(world.offerings[1], challenge)
        for seed in (1, 2):
            for offering in offerings:
                generation = add_generation(offering, challenge, variant=seed)
                Generation.objects.filter(pk=generation.pk).update(seed=seed)
    world.serving_offerings = offerings
    serving.clear_cache()
    return world


def serve(client: Client):
    response = client.get("/arena/serving/")
    assert response.status_code == 200
    return response


def codes_in(html: str) -> str:
    return re.search(r"/arena/serving/vote/([A-Za-z0-9_-]{43})", html).group(1)


def test_a_serving_matchup_pairs_one_model_from_two_providers_with_the_same_seed(served_world):
    for n in range(6):
        matchup = serving.serve_serving_matchup(voter=f"voter-{n}")
        a, b = Generation.objects.filter(
            pk__in=(matchup.generation_a_id, matchup.generation_b_id)
        ).select_related("offering")
        assert matchup.kind == "serving"
        assert a.offering.image_model_id == b.offering.image_model_id == matchup.model_a_id
        assert a.offering_id != b.offering_id
        assert (a.challenge_id, a.seed) == (b.challenge_id, b.seed)


def test_images_of_different_seeds_or_showcase_images_are_never_paired(served_world):
    model = served_world.models[0]
    challenge = served_world.challenges[0]
    Generation.objects.filter(offering__image_model=model).delete()
    first, second, third = served_world.serving_offerings
    for offering, seed in ((first, 5), (second, 6)):  # same challenge, other seeds
        Generation.objects.filter(pk=add_generation(offering, challenge).pk).update(seed=seed)
    showcase = add_generation(third, challenge, pool="showcase", variant=9)
    Generation.objects.filter(pk=showcase.pk).update(seed=5)
    serving.clear_cache()
    assert serving.serving_catalog().groups == []
    assert serving.serve_serving_matchup(voter="someone") is None
    assert "no images to compare yet" in Client().get("/arena/serving/").content.decode()


def test_the_page_is_blind_and_the_vote_reveals_the_two_providers(served_world, voter):
    html = serve(voter).content.decode()
    assert not any(name in html for name in PROVIDER_NAMES)
    assert served_world.models[0].name not in html
    code = codes_in(html)
    for slot in ("a", "b"):
        image = voter.get(f"/arena/image/{code}/{slot}")
        assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
        assert not any(name.encode() in image.content for name in PROVIDER_NAMES)
    assert voter.get(f"/arena/serving/reveal/{code}").status_code == 403  # vote first
    answer = voter.post(
        f"/arena/serving/vote/{code}", {"outcome": "a"}, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 200, answer.content
    reveal = answer.json()["reveal"]
    providers = {slot["provider"] for slot in reveal["slots"]}
    assert len(providers) == 2 and providers <= set(PROVIDER_NAMES)
    assert {slot["model"] for slot in reveal["slots"]} == {served_world.models[0].name}
    assert "You preferred A" in reveal["verdict"]
    vote = ServingVote.objects.get()
    matchup = Matchup.objects.get(code=code)
    assert vote.matchup == matchup and vote.outcome == "a"
    a, b = matchup.generation_a, matchup.generation_b
    assert (vote.offering_a_id, vote.offering_b_id) == (a.offering_id, b.offering_id)
    assert Vote.objects.count() == 0  # model ratings never see serving votes
    page = voter.get(f"/arena/serving/reveal/{code}").content.decode()
    assert all(provider in page for provider in providers)


def test_a_serving_vote_counts_once_and_only_for_its_voter(served_world, voter, other_voter):
    code = codes_in(serve(voter).content.decode())
    url = f"/arena/serving/vote/{code}"
    assert other_voter.post(url, {"outcome": "a"}).status_code == 404
    assert voter.post(url, {"outcome": "b"}).status_code == 303
    assert voter.post(url, {"outcome": "a"}).status_code == 409
    assert ServingVote.objects.count() == 1


def test_the_arenas_do_not_take_each_others_votes(served_world, voter):
    serving_code = codes_in(serve(voter).content.decode())
    # A serving matchup names one model twice: the model arena must refuse it (404),
    # not try to store a vote of a model against itself.
    assert voter.post(f"/arena/vote/{serving_code}", {"outcome": "a"}).status_code == 404
    assert voter.get(f"/arena/reveal/{serving_code}").status_code == 404
    html = voter.get("/arena/").content.decode()
    model_code = re.search(r"/arena/vote/([A-Za-z0-9_-]{43})", html).group(1)
    assert voter.post(f"/arena/serving/vote/{model_code}", {"outcome": "a"}).status_code == 404
    assert Vote.objects.count() == ServingVote.objects.count() == 0


def test_voting_needs_the_proof_of_work(served_world):
    client = Client()
    code = codes_in(serve(client).content.decode())
    response = client.post(
        f"/arena/serving/vote/{code}", {"outcome": "a"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403
    assert ServingVote.objects.count() == 0


def test_a_voter_is_not_shown_an_image_twice(served_world):
    # 2 challenges x 2 seeds x 3 images: at most 6 disjoint pairs, then nothing fresh.
    seen = []
    while (matchup := serving.serve_serving_matchup(voter="one")) is not None:
        seen += [matchup.generation_a_id, matchup.generation_b_id]
    assert len(seen) == len(set(seen)) and 2 <= len(seen) // 2 <= 6


@pytest.fixture
def demo_serving(db):
    call_command("loaddata", "catalog", verbosity=0)
    ensure_serving_demo_generations(seeds=3)
    cast = simulate_serving_crowd(votes=1200, seed=11)
    assert cast == 1200
    refresh_serving_boards(bootstrap=400)


def test_the_demo_crowd_finds_the_worse_provider_and_no_difference_between_equals(
    demo_serving,
):
    flux = ServingBoard.objects.get(image_model__slug="flux.2-pro")
    assert flux.offerings[-1]["offering"] == "simulated-west/flux.2-pro"
    assert flux.worst_offering == "simulated-west/flux.2-pro"
    assert flux.verdict.startswith("Simulated West is worse than")
    nano = ServingBoard.objects.get(image_model__slug="nano-banana")
    assert nano.worst_offering == ""
    assert nano.verdict.startswith("No detectable difference")
    assert all(not d["is_detectable"] for d in nano.differences)


def test_the_serving_api_answers_json_and_csv(demo_serving, client):
    data = client.get("/api/serving/flux.2-pro").json()
    assert set(data) >= {"model", "offerings", "verdict", "computed_at"}
    assert data["model"] == "flux.2-pro" and len(data["offerings"]) == 3
    row = data["offerings"][0]
    assert set(row) == {"offering", "provider", "rating", "ci_low", "ci_high", "votes", "win_rate"}
    assert row["ci_low"] <= row["rating"] <= row["ci_high"]
    csv = client.get("/api/serving/flux.2-pro.csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("model,offering,provider,rating,ci_low,ci_high,votes,win_rate")
    assert len(lines) == 4
    missing = client.get("/api/serving/no-such-model")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    empty = client.get("/api/serving/imagen-4").json()
    assert empty["offerings"] == [] and empty["computed_at"] is None


def test_the_model_page_shows_the_serving_section(demo_serving, client):
    html = client.get("/models/flux.2-pro/").content.decode()
    assert "Same model, different providers" in html
    assert "Simulated West is worse than" in html
    assert "Demo data" in html


def test_a_voter_whose_serving_votes_are_mostly_too_fast_is_left_out(served_world, settings):
    settings.ARENA_MIN_VOTE_MS = 60_000  # every vote below counts as too fast
    settings.ARENA_FLAG_MIN_VOTES = 3  # the world holds at least 4 matchups per voter
    for _ in range(settings.ARENA_FLAG_MIN_VOTES):
        matchup = serving.serve_serving_matchup(voter="bot")
        serving.record_serving_vote(matchup, "a", voter="bot")
    assert ServingVote.objects.filter(voter="bot", is_flagged=True).count() == 3
    assert VoterExclusion.objects.get(voter="bot").is_automatic
    assert refresh_serving_boards(bootstrap=10).startswith("0 serving votes")
    assert not ServingBoard.objects.exists()


def test_images_requested_at_different_sizes_are_never_paired(served_world):
    challenge = served_world.challenges[0]
    for generation, side in zip(
        Generation.objects.filter(
            challenge=challenge, seed=1, offering__in=served_world.serving_offerings
        ),
        (1024, 768, 512),
        strict=True,
    ):
        BenchSample.objects.create(
            offering=generation.offering,
            challenge=challenge,
            started_at=timezone.now(),
            status="ok",
            requested_width=side,
            requested_height=side,
            generation=generation,
        )
    serving.clear_cache()
    keys = {(g.challenge_id, g.seed) for g in serving.serving_catalog().groups}
    assert (challenge.id, 1) not in keys and len(keys) == 3


def test_the_serving_boards_command_prints_a_summary_and_refuses_bad_options(served_world):
    out = io.StringIO()
    call_command("serving_boards", bootstrap=50, stdout=out)
    assert out.getvalue().startswith("0 serving votes, 0 models")
    with pytest.raises(SystemExit) as exit_info:
        call_command("serving_boards", bootstrap=-1, stderr=io.StringIO())
    assert exit_info.value.code == 2
