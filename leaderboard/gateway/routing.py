"""Choosing offerings and failing over between them.

Order: offerings with current stats first, sorted by GATEWAY_ROUTING_ORDER (default:
higher success rate, then lower p50 generation time, then lower price for this very
request); offerings never measured after them, cheapest first. Offerings whose
provider needs a key that is not set, or that cannot serve the request (size, number
of reference images), are left out.

Each image is one chain of attempts down that list, at most GATEWAY_MAX_ATTEMPTS
long and GATEWAY_REQUEST_TIMEOUT_S in all. A chain moves on after connection errors,
timeouts, 429s, 5xx, failed or broken outputs and provider errors not caused by the
request (401/402/403/404 mean our account or catalog is wrong); it stops on moderation
and on 400/413/415/422, which the next provider would refuse too.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from bench.capabilities import CapabilitiesError
from bench.pricing import PricingError
from bench.providers import Endpoint, GenerationResult, generate, protocol_base_url
from bench.providers.base import CONNECTION_ERROR, HTTP_4XX, MODERATED
from bench.sizes import SizeError, SizeRulesError
from leaderboard.gateway.errors import BadRequest, NoProvider
from leaderboard.gateway.params import ImageParams, Plan, plan
from leaderboard.gateway.upstream import upstream
from leaderboard.models import ArenaMode, ImageModel, Offering, OfferingStats

logger = logging.getLogger(__name__)

REQUEST_CAUSED_STATUSES = (400, 413, 415, 422)
# No attempt starts with less time than this left of GATEWAY_REQUEST_TIMEOUT_S.
MIN_ATTEMPT_S = 1.0
DEADLINE_MARGIN_S = 5.0
_DESCENDING = ("success_rate", "success_ci_low")


@dataclass(frozen=True)
class Route:
    """One offering ready to call: its plan, endpoint and current stats (if measured)."""

    plan: Plan
    endpoint: Endpoint
    stats: OfferingStats | None

    @property
    def offering(self) -> Offering:
        return self.plan.offering

    @property
    def provider_slug(self) -> str:
        return self.plan.offering.provider.slug


@dataclass
class Attempt:
    """One upstream request: where it went and what came back."""

    route: Route
    result: GenerationResult
    started_at: datetime = field(default_factory=timezone.now)


def routes_for(image_model: ImageModel, mode: str, params: ImageParams, references) -> list[Route]:
    """The offerings that can serve this request, best first (see the module docstring)."""
    offerings = (
        Offering.objects.filter(image_model=image_model, is_active=True, provider__is_active=True)
        .select_related("provider", "image_model")
        .order_by("id")
    )
    timeout_s = float(settings.GATEWAY_UPSTREAM_TIMEOUT_S)
    routes, size_errors, reference_limits = [], [], []
    for offering in offerings:
        provider = offering.provider
        api_key = provider.api_key()
        if provider.api_key_env and not api_key:
            continue
        if mode == ArenaMode.EDIT:
            limit = offering.max_reference_images or image_model.max_reference_images
            if limit and len(references) > limit:
                reference_limits.append(limit)
                continue
        try:
            offering_plan = plan(params, offering, tuple(references))
            pricing = offering.pricing_rule
        except SizeError as error:
            size_errors.append(error)
            continue
        except (SizeRulesError, PricingError, CapabilitiesError) as error:
            logger.warning("gateway skips offering %s: bad catalog rules: %s", offering, error)
            continue
        endpoint = Endpoint(
            base_url=protocol_base_url(offering.endpoint_kind, provider.base_url),
            model_id=offering.provider_model_id,
            edit_model_id=offering.edit_model_id or None,
            api_key=api_key,
            deadline_s=timeout_s,
            pricing=pricing,
            size_rules=offering.size_rules,
            capabilities=offering.capability_rules,
        )
        routes.append(Route(offering_plan, endpoint, None))
    if not routes:
        if size_errors:
            raise BadRequest(str(size_errors[0]), param=size_errors[0].param)
        if reference_limits:
            raise BadRequest(
                f"{image_model.slug} takes at most {max(reference_limits)} images per edit; "
                f"got {len(references)}.",
                param="image",
            )
        raise NoProvider(
            f"No provider is available for {image_model.slug} right now "
            "(none is active with its API key configured)."
        )
    stats = {
        row.offering_id: row
        for row in OfferingStats.objects.filter(
            offering_id__in=[route.offering.id for route in routes], is_current=True
        ).order_by("computed_at")
    }
    routes = [Route(route.plan, route.endpoint, stats.get(route.offering.id)) for route in routes]
    return sorted(routes, key=_rank)


def _rank(route: Route) -> tuple:
    price = route.plan.price_usd
    price_key = math.inf if price is None else float(price)
    stats = route.stats
    if stats is None or not stats.sample_count or stats.success_rate is None:
        return (1, price_key, route.offering.id)
    values = []
    for name in settings.GATEWAY_ROUTING_ORDER:
        value = price_key if name == "price_usd" else getattr(stats, name)
        if value is None:
            value = math.inf
        elif name in _DESCENDING:
            value = -value
        values.append(float(value))
    return (0, *values, route.offering.id)


def fails_over(result: GenerationResult) -> bool:
    """Whether another offering should get the image after this failure."""
    if result.is_ok or result.status == MODERATED:
        return False
    if result.status == HTTP_4XX and result.http_status in REQUEST_CAUSED_STATUSES:
        return False
    return True


async def run_chains(routes: list[Route], n: int) -> list[list[Attempt]]:
    """Make ``n`` images, each down its own failover chain, all in parallel.

    Returns one list of attempts per image, in order; the last attempt of a chain is
    its success or its final failure. The whole call ends within
    GATEWAY_REQUEST_TIMEOUT_S: an attempt gets GATEWAY_UPSTREAM_TIMEOUT_S or what is
    left of that budget, and no attempt starts with less than MIN_ATTEMPT_S left.
    """
    chain = routes[: settings.GATEWAY_MAX_ATTEMPTS]
    deadline = time.monotonic() + float(settings.GATEWAY_REQUEST_TIMEOUT_S)
    timeout_s = float(settings.GATEWAY_UPSTREAM_TIMEOUT_S)

    async def all_images():
        return await asyncio.gather(*(_chain(chain, timeout_s, deadline) for _ in range(n)))

    # The adapters keep to their deadlines; the margin only covers our own work.
    budget_s = float(settings.GATEWAY_REQUEST_TIMEOUT_S) + DEADLINE_MARGIN_S
    return await upstream.run_async(all_images(), timeout_s=budget_s)


async def _chain(routes: list[Route], timeout_s: float, deadline: float) -> list[Attempt]:
    attempts: list[Attempt] = []
    for route in routes:
        left_s = deadline - time.monotonic()
        if attempts and left_s < MIN_ATTEMPT_S:
            break  # the call's budget is spent: answer with the failures so far
        endpoint = replace(route.endpoint, deadline_s=min(timeout_s, left_s))
        started_at = timezone.now()
        client = upstream.client(route.provider_slug, timeout_s)
        try:
            result = await generate(
                route.offering.endpoint_kind, endpoint, route.plan.request, client=client
            )
        except Exception as error:  # an adapter bug must not lose the other images
            logger.exception("gateway adapter error on %s", route.offering)
            result = GenerationResult(
                status=CONNECTION_ERROR,
                requested_width=route.plan.request.width,
                requested_height=route.plan.request.height,
                error=f"internal adapter error ({type(error).__name__})",
            )
        attempts.append(Attempt(route, result, started_at))
        if not fails_over(result):
            break
    return attempts
