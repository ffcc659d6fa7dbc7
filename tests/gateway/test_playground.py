"""The playground: images through the API's routing, with times and costs, capped
spending, the arena's proof of work, and nothing entering the arena's pools."""

from decimal import Decimal

import pytest
from django.test import Client

from leaderboard.models import BenchSample, Generation, Offering, PlaygroundRun, Provider
from tests.arena.pages import prove

FOUR_MODELS = ["flux.2-pro", "nano-banana", "seedream-4", "qwen-image"]


@pytest.fixture
def visitor(catalog, settings):
    settings.ARENA_POW_MAX_NUMBER = 500
    client = Client()
    assert prove(client).status_code == 200
    return client


def run(client, target, prompt="A lighthouse at dawn"):
    return client.post(
        "/playground/run",
        {"prompt": prompt, "target": target},
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )


def test_four_models_each_arrive_with_ttfb_generation_time_and_cost(visitor, catalog):
    page = visitor.get("/playground/").content.decode()
    assert all(f'value="{slug}"' in page for slug in FOUR_MODELS)
    images = [run(visitor, slug) for slug in FOUR_MODELS]
    assert [r.status_code for r in images] == [200] * 4, [r.content for r in images]
    for answer in images:
        image = answer.json()["image"]
        assert image["provider"] == "Simulated (loopback)"
        assert 0 < image["ttfb_ms"] <= image["generation_ms"]
        assert Decimal(image["cost_usd"]) > 0
        assert visitor.get(image["image_url"]).status_code == 200
    runs = PlaygroundRun.objects.all()
    assert runs.count() == 4 and all(r.status == "ok" and r.cost_usd > 0 for r in runs)
    # Real API traffic for the provider stats, and never a Generation (no arena pool).
    assert BenchSample.objects.filter(source="gateway").count() == 4
    assert Generation.objects.count() == 0


def test_one_model_from_two_providers_names_each_provider(visitor, catalog):
    simulated = Provider.objects.get(slug="simulated")
    east = Provider.objects.create(
        slug="simulated-east", name="Simulated East", base_url=simulated.base_url
    )
    template = Offering.objects.get(provider=simulated, image_model__slug="flux.2-pro")
    template.pk = None
    template.provider = east
    template.save()
    providers = {
        run(visitor, target).json()["image"]["provider"]
        for target in ("simulated/flux.2-pro", "simulated-east/flux.2-pro")
    }
    assert providers == {"Simulated (loopback)", "Simulated East"}


def test_spending_stops_at_the_visitors_daily_cap_before_any_request(visitor, catalog, settings):
    settings.PLAYGROUND_DAILY_CENTS_PER_VISITOR = 10
    spent = Decimal(0)
    answers = []
    for _ in range(6):
        answer = run(visitor, "flux.2-pro")
        answers.append(answer.status_code)
        if answer.status_code == 200:
            spent += Decimal(answer.json()["image"]["cost_usd"])
    assert 429 in answers and answers.index(429) >= 1
    assert spent <= Decimal("0.10")
    jobs = len(catalog.simulator.jobs)
    refused = run(visitor, "flux.2-pro")
    assert refused.status_code == 429 and "budget" in refused.json()["error"]
    assert len(catalog.simulator.jobs) == jobs  # refused before any provider was called
    # Another visitor still has a budget; the site's cap stops everyone.
    other = Client()
    prove(other)
    assert run(other, "flux.2-pro").status_code == 200
    settings.PLAYGROUND_DAILY_CENTS_SITE = 1
    assert run(other, "flux.2-pro").status_code == 429


def test_bad_requests_get_clear_refusals(catalog, settings):
    settings.ARENA_POW_MAX_NUMBER = 500
    anonymous = Client()
    assert run(anonymous, "flux.2-pro").status_code == 403  # no proof of work yet
    prove(anonymous)
    assert run(anonymous, "no-such-model").status_code == 404
    assert run(anonymous, "flux.2-pro", prompt="").status_code == 400
    assert run(anonymous, "flux.2-pro", prompt="x" * 1001).status_code == 400
    assert run(anonymous, "nobody/flux.2-pro").status_code == 503
    garbage = anonymous.post("/playground/run", "{nope", content_type="application/json")
    assert garbage.status_code == 400 and "JSON" in garbage.json()["error"]
    assert PlaygroundRun.objects.count() == 0
