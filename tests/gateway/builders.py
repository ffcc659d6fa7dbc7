"""Readable builders for gateway tests: keys, extra offerings, stats, images, profiles."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from django.core.management import call_command
from openai import OpenAI
from PIL import Image

from bench.simulator import Profile
from leaderboard.models import ImageModel, Offering, OfferingStats, Provider
from tests.bench.builders import fast_profile

PROVIDER_KEY_ENVS = ("REPLICATE_API_TOKEN", "FAL_KEY", "BFL_API_KEY", "OPENAI_API_KEY")
FLUX_SIZES = {
    "ratios": ["1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21"],
    "tiers": ["1K", "2K"], "multiple_of": 16, "custom": True, "max_mp": 4, "auto": True,
}  # fmt: skip
PER_MEGAPIXEL = {"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "0.015"}


def quick_profile(models=None, **default) -> dict:
    """Millisecond delays, no failures; ``models`` overrides some models by provider id."""
    return fast_profile(default, models)


def use_profile(simulator, models=None, **default) -> None:
    simulator.simulator.profile = Profile(quick_profile(models, **default))


def openai_client(live_server, key: str) -> OpenAI:
    """The official client on our gateway, without retries (so every answer shows).

    Use it as a context manager: closing it ends the server thread that holds its
    keep-alive connection, and that thread's database connection.
    """
    return OpenAI(base_url=live_server.url + "/openai/v1", api_key=key, max_retries=0)


def create_key_with_command(name: str, *extra: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", name, *extra, stdout=out, stderr=err)
    return out.getvalue().strip()


def extra_offering(model_slug: str, provider_slug: str, base_url: str, model_id: str, *,
                   kind="replicate", pricing=PER_MEGAPIXEL, sizes=FLUX_SIZES,
                   api_key_env="", max_reference_images=8) -> Offering:  # fmt: skip
    """One more offering of a catalog model, on a new provider (e.g. the simulator again)."""
    provider, _ = Provider.objects.get_or_create(
        slug=provider_slug,
        defaults={"name": provider_slug.title(), "base_url": base_url, "api_key_env": api_key_env},
    )
    return Offering.objects.create(
        image_model=ImageModel.objects.get(slug=model_slug), provider=provider,
        provider_model_id=model_id, endpoint_kind=kind, pricing=pricing, sizes=sizes,
        max_reference_images=max_reference_images,
    )  # fmt: skip


def measured(offering: Offering, *, success_rate: float, p50_ms: float, samples=100):
    """Current stats for an offering, as `manage.py stats` would store them."""
    return OfferingStats.objects.create(
        offering=offering, computed_at=datetime.now(UTC), sample_count=samples,
        success_count=round(samples * success_rate), success_rate=success_rate,
        generation_p50_ms=p50_ms, generation_p95_ms=p50_ms * 2, ttfb_p50_ms=p50_ms,
        cost_per_success_usd=Decimal("0.03"),
    )  # fmt: skip


def png(width=64, height=48, color=(200, 60, 90), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


def decoded(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of image bytes, fully decoded."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.format, image.width, image.height
