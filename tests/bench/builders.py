"""Readable builders for the catalog rows a benchmark needs (Django ORM, test-only)."""

from __future__ import annotations

import io
import time

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from leaderboard.models import (
    Category,
    Challenge,
    ChallengeReference,
    ImageModel,
    Offering,
    Provider,
)

ALL_KINDS = ("replicate", "fal_queue", "fal_sync", "bfl", "openai_images")
PER_MEGAPIXEL = {"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "0.015"}
# Simulated ids of no real family: the simulator applies only protocol-wide rules to
# them, so runner tests stay about the runner (tests/bench/test_protocol_defects.py
# uses the real families, whose documented limits the simulator enforces).
MODEL_IDS = {
    "replicate": "pairwise-sim/replicate-model",
    "fal_queue": "sim/queue-model",
    "fal_sync": "sim/sync-model",
    "bfl": "sim-bfl-model",
    "openai_images": "sim-openai-model",
}


def provider(slug="simulated", *, base_url="http://127.0.0.1:8765", api_key_env="", name=None):
    return Provider.objects.create(
        slug=slug, name=name or slug.title(), base_url=base_url, api_key_env=api_key_env
    )


def image_model(slug, *, does_edit=False, does_text_to_image=True, max_reference_images=0):
    return ImageModel.objects.create(
        slug=slug,
        name=slug.replace("-", " ").title(),
        vendor="Test vendor",
        does_text_to_image=does_text_to_image,
        does_edit=does_edit,
        max_reference_images=max_reference_images or (4 if does_edit else 0),
    )


def offering(
    provider_row,
    model_row,
    kind,
    *,
    model_id=None,
    edit_model_id="",
    pricing=PER_MEGAPIXEL,
    sizes=None,
    max_reference_images=0,
):
    return Offering.objects.create(
        provider=provider_row,
        image_model=model_row,
        endpoint_kind=kind,
        provider_model_id=model_id or MODEL_IDS[kind],
        edit_model_id=edit_model_id,
        pricing=pricing,
        sizes=sizes or {},
        max_reference_images=max_reference_images,
    )


def simulated_catalog(
    kinds=ALL_KINDS,
    *,
    base_url="http://127.0.0.1:8765",
    does_edit=False,
    provider_slug="simulated",
    api_key_env="",
) -> list[Offering]:
    """One simulated provider with one model per protocol: ``sim-<kind>`` served over <kind>."""
    row = provider(provider_slug, base_url=base_url, api_key_env=api_key_env)
    return [
        offering(row, image_model(f"sim-{kind.replace('_', '-')}", does_edit=does_edit), kind)
        for kind in kinds
    ]


def challenge(slug, prompt=None, *, mode="t2i", references=0, category="photorealism"):
    """A challenge; edit challenges get ``references`` generated PNG reference images."""
    category_row, _ = Category.objects.get_or_create(
        slug=category, defaults={"name": category.title()}
    )
    row = Challenge.objects.create(
        slug=slug,
        title=slug.replace("-", " ").title(),
        prompt=prompt or f"A photo for the {slug} challenge",
        mode=mode,
        category=category_row,
    )
    for position in range(references):
        buffer = io.BytesIO()
        width, height = 80 + position, 60
        Image.new("RGB", (width, height), (200, 40 * position, 90)).save(buffer, "PNG")
        name = default_storage.save(
            f"references/{slug}-{position}.png", ContentFile(buffer.getvalue())
        )
        ChallengeReference.objects.create(
            challenge=row, position=position, image=name, width=width, height=height
        )
    return row


def fast_profile(default=None, models=None, **top) -> dict:
    """A simulator profile with millisecond delays and no failures unless asked."""
    base = {
        "queue_ms": 5,
        "processing_ms": 20,
        "transfer_ms": 2,
        "failures": {},
        "retry_after_s": 0.2,
    }
    base.update(default or {})
    return {"seed": 3, "default": base, "models": models or {}, **top}


def settled_truth(simulator, job_id: str) -> dict:
    """The job's ground truth once the server thread has stamped its last byte: the client
    can finish reading before the server's send() returns and stamps it."""
    job = simulator.simulator.jobs[job_id]
    waited_until = time.monotonic() + 2
    while job.last_byte_ns is None and time.monotonic() < waited_until:
        time.sleep(0.001)
    return job.truth()
