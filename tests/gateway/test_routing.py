"""Routing by live stats, failover on 5xx and timeouts, and every attempt as a sample."""

import io
from decimal import Decimal

import openai
import pytest

from leaderboard.gateway.params import parse_params
from leaderboard.gateway.routing import routes_for
from leaderboard.models import ArenaMode, BenchSample, ImageModel, Offering, OfferingStats
from tests.gateway.builders import extra_offering, measured, use_profile

CHEAP = {"unit": "image", "usd": "0.01"}
DEAR = {"unit": "image", "usd": "0.05"}


def order(*, references=()):
    """Provider slugs in the order the gateway would try them for a 1024x1024 image."""
    params = parse_params({"model": "flux.2-pro", "prompt": "x", "size": "1024x1024"})
    model = ImageModel.objects.get(slug="flux.2-pro")
    routes = routes_for(model, ArenaMode.TEXT_TO_IMAGE, params, references)
    return [route.provider_slug for route in routes]


@pytest.fixture
def two_more(catalog_rows):
    """flux.2-pro on two more providers, besides `simulated`."""
    url = "http://127.0.0.1:9"
    first = extra_offering("flux.2-pro", "alpha", url, "sim/alpha", pricing=DEAR)
    second = extra_offering("flux.2-pro", "beta", url, "sim/beta", pricing=CHEAP)
    simulated = Offering.objects.get(provider__slug="simulated", image_model__slug="flux.2-pro")
    return first, second, simulated


def test_a_higher_success_rate_wins_over_speed_and_price(two_more):
    alpha, beta, simulated = two_more
    measured(alpha, success_rate=0.99, p50_ms=9000)
    measured(beta, success_rate=0.95, p50_ms=100)
    measured(simulated, success_rate=0.90, p50_ms=50)

    assert order() == ["alpha", "beta", "simulated"]


def test_at_equal_success_rates_the_faster_then_the_cheaper_goes_first(two_more):
    alpha, beta, simulated = two_more
    measured(alpha, success_rate=1.0, p50_ms=900)
    measured(beta, success_rate=1.0, p50_ms=900)
    measured(simulated, success_rate=1.0, p50_ms=300)

    # simulated is fastest; alpha and beta tie on speed, and beta costs $0.01 to alpha's $0.05.
    assert order() == ["simulated", "beta", "alpha"]


def test_unmeasured_offerings_go_last_cheapest_first(two_more):
    alpha, beta, simulated = two_more
    measured(simulated, success_rate=0.5, p50_ms=60_000)

    # simulated is $0.03 per megapixel: dearer than beta, cheaper than alpha.
    assert order() == ["simulated", "beta", "alpha"]


def test_the_routing_order_is_configurable(two_more, settings):
    alpha, beta, simulated = two_more
    measured(alpha, success_rate=0.99, p50_ms=9000)
    measured(beta, success_rate=0.95, p50_ms=100)
    measured(simulated, success_rate=0.90, p50_ms=50)
    settings.GATEWAY_ROUTING_ORDER = ["price_usd", "success_rate"]

    assert order() == ["beta", "simulated", "alpha"]


def test_a_provider_whose_key_is_not_set_is_skipped(catalog_rows, monkeypatch):
    extra_offering("flux.2-pro", "keyed", "http://127.0.0.1:9", "sim/keyed", pricing=CHEAP,
                   api_key_env="PAIRWISE_TEST_KEYED_KEY")  # fmt: skip
    monkeypatch.delenv("PAIRWISE_TEST_KEYED_KEY", raising=False)
    assert order() == ["simulated"]

    monkeypatch.setenv("PAIRWISE_TEST_KEYED_KEY", "sk-keyed")
    assert order() == ["keyed", "simulated"]


def test_a_500_fails_over_to_the_next_provider_and_both_attempts_are_samples(api, catalog):
    flaky = extra_offering("flux.2-pro", "flaky", catalog.base_url, "sim/flaky")
    measured(flaky, success_rate=0.99, p50_ms=100)
    use_profile(catalog, {"sim/flaky": {"failures": {"server_error": 1.0}}})

    raw = api.images.with_raw_response.generate(model="flux.2-pro", prompt="A fox", n=3)

    assert len(raw.parse().data) == 3
    assert raw.headers["x-pairwise-provider"] == "simulated"
    assert raw.headers["x-pairwise-attempts"] == "6"
    samples = BenchSample.objects.filter(source="gateway")
    assert sorted(samples.values_list("offering__provider__slug", "status", "http_status")) == (
        [("flaky", "http_5xx", 500)] * 3 + [("simulated", "ok", 201)] * 3
    )


def test_a_timeout_fails_over_to_the_next_provider(api, catalog, settings):
    settings.GATEWAY_UPSTREAM_TIMEOUT_S = 0.5
    slow = extra_offering("flux.2-pro", "slow", catalog.base_url, "sim/slow")
    measured(slow, success_rate=0.99, p50_ms=100)
    use_profile(catalog, {"sim/slow": {"failures": {"timeout": 1.0}}})

    raw = api.images.with_raw_response.generate(model="flux.2-pro", prompt="A fox")

    assert raw.headers["x-pairwise-provider"] == "simulated"
    statuses = dict(BenchSample.objects.values_list("offering__provider__slug", "status"))
    assert statuses == {"slow": "timeout", "simulated": "ok"}


def test_a_rate_limited_provider_is_failed_over_too(api, catalog):
    busy = extra_offering("flux.2-pro", "busy", catalog.base_url, "sim/busy")
    measured(busy, success_rate=0.99, p50_ms=100)
    use_profile(catalog, {"sim/busy": {"failures": {"rate_limited": 1.0}}})

    raw = api.images.with_raw_response.generate(model="flux.2-pro", prompt="A fox")

    assert raw.headers["x-pairwise-provider"] == "simulated"


def test_a_request_the_provider_calls_invalid_is_not_sent_elsewhere(api, catalog):
    picky = extra_offering("flux.2-pro", "picky", catalog.base_url, "sim/picky")
    measured(picky, success_rate=0.99, p50_ms=100)
    use_profile(catalog, {"sim/picky": {"failures": {"bad_request": 1.0}}})

    with pytest.raises(openai.BadRequestError) as caught:
        api.images.generate(model="flux.2-pro", prompt="A fox")

    assert caught.value.code == "upstream_rejected"
    assert list(BenchSample.objects.values_list("offering__provider__slug", "status")) == [
        ("picky", "http_4xx")
    ]


def test_the_cost_of_a_gateway_sample_comes_from_the_pricing_rule(api):
    api.images.generate(model="flux.2-pro", prompt="A fox", size="2048x1024")

    # 2 MP at $0.03 for the first megapixel and $0.015 for the next.
    assert BenchSample.objects.get().cost_usd == Decimal("0.045")


def test_gateway_attempts_count_in_the_provider_stats_as_real_api_requests(api):
    from django.core.management import call_command

    api.images.generate(model="flux.2-pro", prompt="A fox")
    call_command("stats", stdout=io.StringIO())

    stats = OfferingStats.objects.get(is_current=True, offering__provider__slug="simulated",
                                      offering__image_model__slug="flux.2-pro")  # fmt: skip
    assert (stats.sample_count, stats.gateway_sample_count, stats.success_rate) == (1, 1, 1.0)
