"""Planning a run: which requests to send, to whom, at what price.

``plan_requests`` turns the selected offerings and challenges into priced tasks,
interleaved across offerings so that concurrent requests spread over providers.
``Shard`` splits that plan between hosts (``bench run --shard K/N``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.capabilities import Capabilities, CapabilitiesError
from bench.pricing import PricingError, PricingRule, request_cost_usd
from bench.providers import Endpoint, ImageRequest, ReferenceImage, protocol_base_url
from bench.sizes import SizeError, SizeRules, SizeRulesError
from bench.store import CatalogOffering, ChallengeRow
from bench.suites import Suite


@dataclass
class Task:
    """One request to send: what, to which endpoint, at what price (USD)."""

    offering: CatalogOffering
    challenge: ChallengeRow
    request: ImageRequest
    endpoint: Endpoint
    cost_usd: Decimal


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` of a run's plan: ``bench run --shard K/N``.

    Each (offering, challenge) pair belongs to exactly one shard, by a hash of the
    offering's key and the challenge's slug: the same on every host, with no coordination,
    and stable when the catalog grows (a new offering moves no other pair). Repetitions
    of a pair stay on one shard, so its samples come from one place.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"K/N"`` with 1 <= K <= N; ValueError with a sentence otherwise."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match:
            raise ValueError(f"--shard wants K/N (e.g. 2/3), got {text!r}")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ValueError(f"--shard {text}: K must be between 1 and N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, offering_key: str, challenge_slug: str) -> bool:
        """Whether this shard measures ``offering_key`` on ``challenge_slug``."""
        digest = hashlib.sha256(f"{offering_key}|{challenge_slug}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def shard_tasks(tasks: Sequence[Task], shard: Shard | None) -> list[Task]:
    """The tasks of ``shard`` (all of them for None), in their planned order."""
    if shard is None:
        return list(tasks)
    return [task for task in tasks if shard.owns(task.offering.key, task.challenge.slug)]


def provider_keys(
    rows: Sequence[CatalogOffering], env: Mapping[str, str], say
) -> tuple[dict[str, str | None], list[str]]:
    """Each provider's key from the environment (None when it needs none); the skipped."""
    keys: dict[str, str | None] = {}
    skipped: list[str] = []
    for row in rows:
        if row.provider_slug in keys or row.provider_slug in skipped:
            continue
        if not row.api_key_env:
            keys[row.provider_slug] = None
        elif env.get(row.api_key_env):
            keys[row.provider_slug] = env[row.api_key_env]
        else:
            skipped.append(row.provider_slug)
            count = sum(1 for other in rows if other.provider_slug == row.provider_slug)
            say(
                f"skipping provider {row.provider_slug} ({count} offerings): "
                f"environment variable {row.api_key_env} is not set"
            )
    return keys, skipped


def plan_requests(
    offering_rows: Sequence[CatalogOffering],
    challenge_rows: Sequence[ChallengeRow],
    suite: Suite,
    repeat: int,
    keys: Mapping[str, str | None],
    overrides: Mapping[str, str],
    media_root: Path,
    poll_interval_s: float | None,
    deadline_s: float,
    say,
) -> list[Task]:
    """Priced tasks for every offering x matching challenge x repetition, interleaved.

    Text-to-image challenges go to models that do text-to-image, edit challenges to
    models that edit (with at most the offering's number of reference images). An
    offering with malformed size or pricing rules is skipped with a message.
    """
    references = _load_references(challenge_rows, media_root, say)
    # A fresh base seed per run, so scheduled runs bring new pictures (bench/pools.py).
    base_seed = suite.seed if suite.seed is not None else secrets.randbelow(2**31)
    per_offering: list[list[Task]] = []
    for offering in offering_rows:
        try:
            rules = SizeRules.from_json(offering.sizes)
            pricing = PricingRule.from_json(offering.pricing)
            capabilities = Capabilities.from_json(offering.capabilities)
        except (SizeRulesError, PricingError, CapabilitiesError) as error:
            say(f"skipping offering {offering.key}: {error}")
            continue
        base_url = overrides.get(offering.provider_slug, offering.provider_base_url)
        endpoint = Endpoint(
            base_url=protocol_base_url(offering.endpoint_kind, base_url),
            model_id=offering.provider_model_id,
            edit_model_id=offering.edit_model_id or None,
            api_key=keys[offering.provider_slug],
            poll_interval_s=poll_interval_s,
            deadline_s=deadline_s,
            pricing=pricing,
            size_rules=rules,
            capabilities=capabilities,
        )
        tasks = []
        for repetition in range(repeat):
            for challenge in challenge_rows:
                refs = references.get(challenge.id)
                if challenge.mode == "edit":
                    if not offering.does_edit or refs is None:
                        continue
                    limit = offering.reference_limit
                    if limit and len(refs) > limit:
                        continue
                elif not offering.does_text_to_image:
                    continue
                sizes = _cheapest_sizes(rules) if suite.is_cheapest else [suite_size(suite)]
                priced, errors = [], []
                for size in sizes:
                    try:
                        request = ImageRequest.for_offering(
                            challenge.prompt,
                            rules,
                            **size,
                            seed=base_seed + repetition,
                            output_format=suite.output_format,
                            references=tuple(refs or ()),
                            capabilities=capabilities,
                        )
                        priced.append(_priced(pricing, request))
                    except (SizeError, PricingError) as error:
                        errors.append(error)
                if not priced:
                    say(f"skipping {offering.key} on {challenge.slug}: {errors[0]}")
                    continue
                # The cheapest candidate, then the fewest pixels (the smoke suite offers several).
                request, cost = min(
                    priced, key=lambda pair: (pair[1], pair[0].width * pair[0].height)
                )
                tasks.append(Task(offering, challenge, request, endpoint, cost))
        per_offering.append(tasks)
    # Interleave offerings, so that concurrent requests spread over providers.
    ordered = []
    for index in range(max((len(tasks) for tasks in per_offering), default=0)):
        ordered += [tasks[index] for tasks in per_offering if index < len(tasks)]
    if suite.is_cheapest:  # under a cap, the most offerings get checked cheapest first
        ordered.sort(key=lambda task: task.cost_usd)
    return ordered


def suite_size(suite: Suite) -> dict:
    """The size parameters a suite gives ``bench.sizes.normalize_size``."""
    return dict(size=suite.size, aspect_ratio=suite.aspect_ratio, resolution=suite.resolution)


def _cheapest_sizes(rules: SizeRules) -> list[dict]:
    # Candidates for the cheapest request: square at every tier, and 512x512 where any
    # size goes (per-megapixel prices bill it as 1 MP, but it is the quickest).
    sizes = [dict(aspect_ratio="1:1", resolution=tier) for tier in rules.tiers]
    return sizes + ([dict(size="512x512")] if rules.custom else [])


def _priced(pricing: PricingRule, request: ImageRequest) -> tuple[ImageRequest, Decimal]:
    cost = request_cost_usd(
        pricing,
        request.width,
        request.height,
        [(ref.width, ref.height) for ref in request.references],
        tier=request.resolution,
    )
    return request, cost


def _load_references(
    challenge_rows: Sequence[ChallengeRow], media_root: Path, say
) -> dict[int, list[ReferenceImage] | None]:
    from PIL import Image

    loaded: dict[int, list[ReferenceImage] | None] = {}
    for challenge in challenge_rows:
        if challenge.mode != "edit":
            continue
        images = []
        for ref in challenge.references:
            path = media_root / ref.image
            try:
                data = path.read_bytes()
                with Image.open(path) as image:
                    content_type = Image.MIME.get(image.format or "", "image/png")
                    width, height = image.size
            except OSError as error:
                say(f"skipping edit challenge {challenge.slug}: reference {ref.image}: {error}")
                images = None
                break
            images.append(ReferenceImage(data, content_type, width, height))
        if images == []:
            say(f"skipping edit challenge {challenge.slug}: it has no reference images")
            images = None
        loaded[challenge.id] = images
    return loaded
