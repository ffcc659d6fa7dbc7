"""The playground: one prompt, up to four models (or one model from up to four
providers), each image made through the OpenAI-compatible API's routing.

A "target" is a model slug (the API's routing picks the offering and fails over, as
for any API call) or an offering key `provider/model` (that provider only). Spending
is capped per visitor and for the whole site per UTC day (settings); the estimated
cost is booked before the provider is called, so concurrent runs cannot overspend.
Outputs are stored with the API's images, never as Generations: they stay out of the
arena's pools.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from leaderboard.gateway import images
from leaderboard.gateway.errors import ApiError
from leaderboard.gateway.params import parse_params
from leaderboard.gateway.routing import routes_for, run_chains
from leaderboard.gateway.service import _record_samples, find_model
from leaderboard.models import ArenaMode, ImageModel, Offering, PlaygroundRun

MAX_TARGETS = 4
MAX_PROMPT_CHARS = 1000
PLAYGROUND_SIZE = "1024x1024"
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"pairwise.playground").digest()[:4], "big")


class PlaygroundError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PlaygroundImage:
    target: str
    model: str
    provider: str
    image_url: str
    width: int
    height: int
    ttfb_ms: float | None
    generation_ms: float | None
    cost_usd: str


def check_request(prompt: str, targets: list[str]) -> None:
    """Refuse what the playground does not do, before anything is spent."""
    if not prompt.strip():
        raise PlaygroundError("Type a prompt.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PlaygroundError(f"Prompts are at most {MAX_PROMPT_CHARS} characters.")
    if not targets:
        raise PlaygroundError("Pick at least one model or provider.")
    if len(targets) > MAX_TARGETS:
        raise PlaygroundError(f"Pick at most {MAX_TARGETS} models or providers.")


def choices() -> list[dict]:
    """Active text-to-image models and their active offerings, for the form."""
    models = ImageModel.objects.filter(is_active=True, does_text_to_image=True).order_by("name")
    offerings = Offering.objects.filter(is_active=True, provider__is_active=True).select_related(
        "provider", "image_model"
    )
    by_model: dict[int, list[Offering]] = {}
    for offering in offerings:
        if offering.provider.api_key_env and not offering.provider.api_key():
            continue  # the API's routing skips providers without their key too
        by_model.setdefault(offering.image_model_id, []).append(offering)
    return [
        {
            "slug": model.slug,
            "name": model.name,
            "offerings": [
                {"key": o.key, "provider": o.provider.name}
                for o in sorted(by_model.get(model.id, []), key=lambda o: o.provider.name)
            ],
        }
        for model in models
    ]


def run_target(
    prompt: str, target: str, *, voter: str, ip_hash: str, absolute_url
) -> PlaygroundImage:
    """Make one image for `target`; raises PlaygroundError (with a status) when refused."""
    provider_slug, _, model_slug = target.rpartition("/")  # "provider/model" or "model"
    try:
        image_model = find_model(model_slug, ArenaMode.TEXT_TO_IMAGE)
        params = parse_params({"model": model_slug, "prompt": prompt, "size": PLAYGROUND_SIZE})
        routes = routes_for(image_model, ArenaMode.TEXT_TO_IMAGE, params, ())
    except ApiError as error:
        raise PlaygroundError(error.message, status=error.status) from None
    if provider_slug:
        routes = [r for r in routes if r.provider_slug == provider_slug]
        if not routes:
            raise PlaygroundError(f"{provider_slug} cannot serve {model_slug} right now.", 503)
    estimate = max(
        (r.plan.price_usd or Decimal(0)) for r in routes[: settings.GATEWAY_MAX_ATTEMPTS]
    )
    run = _book(voter, ip_hash, image_model, estimate)
    try:
        chain = async_to_sync(run_chains)(routes, 1)[0]
    except TimeoutError:
        PlaygroundRun.objects.filter(pk=run.pk).update(cost_usd=0, status="timeout")
        raise PlaygroundError("The providers did not answer in time.", 504) from None
    _record_samples(chain, ArenaMode.TEXT_TO_IMAGE)
    final = chain[-1]
    result = final.result
    cost = sum((a.result.cost_usd or Decimal(0)) for a in chain if a.result.is_ok)
    PlaygroundRun.objects.filter(pk=run.pk).update(
        offering=final.route.offering,
        cost_usd=cost,
        status=result.status,
        ttfb_ms=result.ttfb_ms,
        generation_ms=result.generation_ms,
    )
    if not result.is_ok:
        raise PlaygroundError(
            f"{final.route.offering.provider.name} did not deliver an image ({result.status}).", 502
        )
    output = images.convert(result.image, "png")
    url = absolute_url(reverse("gateway-image", args=[images.store(output)]))
    return PlaygroundImage(
        target=target,
        model=image_model.name,
        provider=final.route.offering.provider.name,
        image_url=url,
        width=output.width,
        height=output.height,
        ttfb_ms=result.ttfb_ms,
        generation_ms=result.generation_ms,
        cost_usd=str(cost),
    )


def _book(voter: str, ip_hash: str, image_model, estimate: Decimal) -> PlaygroundRun:
    """Book `estimate` against today's caps, or refuse (429) when it would pass one."""
    day_start = timezone.make_aware(datetime.combine(timezone.now().date(), time.min))
    visitor_cap = Decimal(settings.PLAYGROUND_DAILY_CENTS_PER_VISITOR) / 100
    site_cap = Decimal(settings.PLAYGROUND_DAILY_CENTS_SITE) / 100
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One booking at a time, so two runs cannot both fit under the cap.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        today = PlaygroundRun.objects.filter(created_at__gte=day_start)
        site = today.aggregate(total=Sum("cost_usd"))["total"] or Decimal(0)
        mine = today.filter(voter=voter).aggregate(total=Sum("cost_usd"))["total"] or Decimal(0)
        if mine + estimate > visitor_cap:
            raise PlaygroundError(
                f"Your playground budget for today (${visitor_cap:.2f}) is spent; "
                "come back tomorrow.",
                429,
            )
        if site + estimate > site_cap:
            raise PlaygroundError(
                "The playground's budget for today is spent; come back tomorrow.", 429
            )
        return PlaygroundRun.objects.create(
            voter=voter,
            ip_hash=ip_hash,
            image_model=image_model,
            created_at=timezone.now(),
            cost_usd=estimate,
        )
