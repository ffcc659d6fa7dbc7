"""One API call end to end: model, routes, upstream chains, samples, images, answer.

``create_images`` is the one service the generation and edit views call. Every
upstream attempt becomes a BenchSample (source "gateway") whatever the outcome, mapped
by the runner's own ``bench.store.sample_row``, so gateway traffic feeds the provider
stats like benchmark runs do.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.urls import reverse

from bench.providers.base import TIMEOUT
from bench.store import sample_row
from leaderboard.gateway import images
from leaderboard.gateway.blocking import blocking
from leaderboard.gateway.errors import (
    ApiError,
    BadRequest,
    ModelNotFound,
    Moderated,
    UpstreamFailed,
    UpstreamTimeout,
)
from leaderboard.gateway.params import ImageParams
from leaderboard.gateway.routing import Attempt, fails_over, routes_for, run_chains
from leaderboard.models import ArenaMode, BenchSample, ImageModel, SampleSource

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What the view sends back, and what the key's usage records."""

    body: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    image_model_id: int | None = None
    images_returned: int = 0
    attempts: int = 0
    providers: list[str] = field(default_factory=list)
    cost_usd: Decimal = Decimal(0)
    error: ApiError | None = None


def find_model(slug: str, mode: str) -> ImageModel:
    """The active model named by the request's ``model`` that does ``mode``."""
    image_model = ImageModel.objects.filter(slug=slug).first()
    if image_model is None:
        raise ModelNotFound(
            f"The model {slug!r} does not exist; GET /openai/v1/models lists them.",
            param="model",
        )
    if not image_model.is_active:
        raise ModelNotFound(f"The model {slug!r} is deprecated.", param="model")
    if mode == ArenaMode.EDIT and not image_model.does_edit:
        raise BadRequest(f"{slug} does not edit images; use /images/generations.", param="model")
    if mode == ArenaMode.TEXT_TO_IMAGE and not image_model.does_text_to_image:
        raise BadRequest(f"{slug} only edits images; use /images/edits.", param="model")
    return image_model


async def create_images(
    params: ImageParams,
    mode: str,
    references: tuple = (),
    *,
    absolute_url: Callable[[str], str],
) -> Outcome:
    """Serve one generations/edits call; ``outcome.error`` is set when no image came back.

    ``absolute_url`` turns a path into the client-facing URL. Raises ApiError
    for problems found before any upstream request (unknown model, bad size, ...).
    The database and image work run in threads (``blocking``); the wait on the
    providers holds none.
    """
    image_model, routes = await blocking(_find_routes)(params, mode, references)
    try:
        chains = await run_chains(routes, params.n)
    except TimeoutError:
        raise UpstreamTimeout("The providers did not answer in time.") from None
    return await blocking(_answer)(image_model, chains, params, mode, absolute_url)


def _find_routes(params: ImageParams, mode: str, references: tuple):
    image_model = find_model(params.model, mode)
    return image_model, routes_for(image_model, mode, params, references)


def _answer(image_model, chains, params: ImageParams, mode: str, absolute_url) -> Outcome:
    _record_samples([attempt for chain in chains for attempt in chain], mode)

    outcome = Outcome(image_model_id=image_model.id)
    outcome.attempts = sum(len(chain) for chain in chains)
    successes = [chain[-1] for chain in chains if chain[-1].result.is_ok]
    for attempt in successes:
        outcome.cost_usd += attempt.result.cost_usd or Decimal(0)
        if attempt.route.provider_slug not in outcome.providers:
            outcome.providers.append(attempt.route.provider_slug)
    if not successes:
        outcome.error = _failure(chains)
        return outcome

    data = []
    first = None
    for attempt in successes:
        output = images.convert(
            attempt.result.image,
            params.output_format,
            None if attempt.route.plan.is_compression_native else params.output_compression,
        )
        first = first or output
        item = {"revised_prompt": params.prompt}
        if params.response_format == "b64_json":
            item["b64_json"] = base64.b64encode(output.data).decode()
        else:
            item["url"] = absolute_url(reverse("gateway-image", args=[images.store(output)]))
        data.append(item)
    outcome.images_returned = len(data)
    outcome.body = {
        "created": int(time.time()),
        "data": data,
        "output_format": params.output_format,
        "size": f"{first.width}x{first.height}",
    }
    outcome.headers = {
        "X-Pairwise-Provider": ", ".join(outcome.providers),
        "X-Pairwise-Attempts": str(outcome.attempts),
        "X-Pairwise-Cost-Usd": str(outcome.cost_usd),
    }
    if len(data) < params.n:
        outcome.headers["X-Pairwise-Images-Failed"] = str(params.n - len(data))
    return outcome


def _failure(chains: list[list[Attempt]]) -> ApiError:
    """The client's error when no chain produced an image: our words, never the provider's."""
    finals = [chain[-1] for chain in chains]
    for attempt in finals:
        if attempt.result.status == "moderated":
            return Moderated(
                f"The request was rejected by the safety system of "
                f"{attempt.route.provider_slug}; change the prompt or the images."
            )
    for attempt in finals:
        if not fails_over(attempt.result):
            return BadRequest(
                f"{attempt.route.provider_slug} rejected the request as invalid "
                f"(HTTP {attempt.result.http_status}); check the provider-specific "
                "parameters passed through.",
                code="upstream_rejected",
            )
    tried = []
    for chain in chains:
        for attempt in chain:
            entry = f"{attempt.route.provider_slug}: {attempt.result.status}"
            if entry not in tried:
                tried.append(entry)
    if all(attempt.result.status == TIMEOUT for chain in chains for attempt in chain):
        return UpstreamTimeout(f"Every provider timed out ({'; '.join(tried)}).")
    return UpstreamFailed(f"Every provider failed ({'; '.join(tried)}).")


def _record_samples(attempts: list[Attempt], mode: str) -> None:
    BenchSample.objects.bulk_create(
        [
            BenchSample(
                **sample_row(
                    attempt.result,
                    offering_id=attempt.route.offering.id,
                    source=SampleSource.GATEWAY,
                    mode=mode,
                    started_at=attempt.started_at,
                )
            )
            for attempt in attempts
        ]
    )
