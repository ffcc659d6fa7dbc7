"""Serving boards: per model, its offerings rated against each other from the serving
arena's votes, with a plain-words verdict. Written by `manage.py serving_boards`
(a step of its own, apart from the model ratings); pages and the API only read them.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from statistics import median

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leaderboard.models import (
    BenchSample,
    Generation,
    ImageModel,
    Offering,
    ServingBoard,
    ServingDifference,
    ServingVote,
    VoterExclusion,
)
from leaderboard.ratings.differences import compare, verdict, worst

BOOTSTRAP_ROUNDS = 1000
SEED = 0
BOARD_COLUMNS = [
    "model", "offering", "provider", "rating", "ci_low", "ci_high", "votes", "win_rate",
    "verdict", "computed_at",
]  # fmt: skip


def counted_votes():
    """Serving votes that count: not excluded, and not from a voter excluded now."""
    excluded = VoterExclusion.objects.filter(lifted_at__isnull=True).values("voter")
    return ServingVote.objects.filter(is_excluded=False).exclude(Q(voter__in=excluded))


def refresh_serving_boards(*, bootstrap: int = BOOTSTRAP_ROUNDS, seed: int = SEED) -> str:
    """Refit every model's serving board from the counted votes; a one-line summary."""
    started = time.monotonic()
    now = timezone.now()
    by_model: dict[int, list[tuple[int, int, str]]] = {}
    demo_models = set()
    for model_id, a, b, outcome, is_demo in counted_votes().values_list(
        "image_model_id", "offering_a_id", "offering_b_id", "outcome", "is_demo"
    ):
        by_model.setdefault(model_id, []).append((a, b, outcome))
        if is_demo:
            demo_models.add(model_id)
    offerings = {
        o.id: o
        for o in Offering.objects.filter(image_model_id__in=by_model).select_related(
            "provider", "image_model"
        )
    }
    with transaction.atomic():
        ServingBoard.objects.exclude(image_model_id__in=by_model).delete()
        for model_id, votes in by_model.items():
            board = build_board(votes, offerings, bootstrap=bootstrap, seed=seed)
            ServingBoard.objects.update_or_create(
                image_model_id=model_id,
                defaults={**board, "computed_at": now, "is_demo": model_id in demo_models},
            )
    total = sum(len(v) for v in by_model.values())
    return f"{total:,} serving votes, {len(by_model)} models, {time.monotonic() - started:.1f} s"


def build_board(votes, offerings: dict[int, Offering], *, bootstrap: int, seed: int) -> dict:
    """One model's board fields from its (offering_a_id, offering_b_id, outcome) votes."""
    key = {offering_id: offering.key for offering_id, offering in offerings.items()}
    comparison = compare(
        [key[a] for a, _, _ in votes],
        [key[b] for _, b, _ in votes],
        [outcome for _, _, outcome in votes],
        bootstrap=bootstrap,
        seed=seed,
    )
    by_key = {offering.key: offering for offering in offerings.values()}

    def label(offering_key: str) -> str:
        return by_key[offering_key].provider.name

    rows = [
        {
            "offering": row.model,
            "provider": by_key[row.model].provider.name,
            "provider_slug": by_key[row.model].provider.slug,
            "rating": round(row.rating, 1),
            "ci_low": round(row.ci_low, 1),
            "ci_high": round(row.ci_high, 1),
            "votes": row.votes,
            "win_rate": round(row.win_rate, 4),
        }
        for row in comparison.board.rows
    ]
    differences = [
        {
            "better": d.better,
            "worse": d.worse,
            "points": round(d.points, 1),
            "ci_low": round(d.ci_low, 1),
            "ci_high": round(d.ci_high, 1),
            "win_probability": round(d.win_probability, 4),
            "is_detectable": d.is_detectable,
        }
        for d in comparison.differences
    ]
    return {
        "vote_count": len(votes),
        "offerings": rows,
        "differences": differences,
        "verdict": verdict(comparison, label),
        "worst_offering": worst(comparison) or "",
    }


def serving_payload(model: ImageModel) -> dict:
    """The data API's answer for one model (an empty board before any serving vote)."""
    board = ServingBoard.objects.filter(image_model=model).first()
    if board is None:
        return {
            "model": model.slug,
            "offerings": [],
            "verdict": "No serving-arena votes yet.",
            "computed_at": None,
            "votes": 0,
            "differences": [],
            "is_demo": False,
        }
    return {
        "model": model.slug,
        "offerings": [
            {k: row[k] for k in ("offering", "provider", "rating", "ci_low", "ci_high")}
            | {"votes": row["votes"], "win_rate": row["win_rate"]}
            for row in board.offerings
        ],
        "verdict": board.verdict,
        "computed_at": board.computed_at.isoformat().replace("+00:00", "Z"),
        "votes": board.vote_count,
        "differences": board.differences,
        "is_demo": board.is_demo,
    }


def serving_csv_rows(payload: dict) -> list[dict]:
    return [
        {**row, "model": payload["model"], "verdict": payload["verdict"],
         "computed_at": payload["computed_at"]}
        for row in payload["offerings"]
    ]  # fmt: skip


def serving_section(slug: str) -> dict | None:
    """What the model page's "Same model, different providers" section shows."""
    model = ImageModel.objects.filter(slug=slug).first()
    if model is None:
        return None
    payload = serving_payload(model)
    offerings = Offering.objects.filter(image_model=model, is_active=True).count()
    board = ServingBoard.objects.filter(image_model=model).first()
    return {
        "payload": payload,
        "offering_count": offerings,
        "worst": board.worst_offering if board else "",
        "computed_at_text": f"{board.computed_at:%Y-%m-%d %H:%M} UTC" if board else "",
        "measured": measured_differences(model),
        "is_demo": payload["is_demo"],
    }


def serving_context(slug: str) -> dict:
    """The model page's context for its serving section (one key, `serving`)."""
    return {"serving": serving_section(slug)}


def measured_differences(model: ImageModel) -> dict:
    """Per offering, what the runner measured on the images the serving arena compares:
    delivered size, format and file size, SSIM against the other offerings' images of
    the same request, and plain-words call-outs for smaller images or other formats."""
    pairs = list(
        ServingDifference.objects.filter(image_model=model).values_list(
            "offering_a__provider__name",
            "offering_b__provider__name",
            "generation_a_id",
            "generation_b_id",
            "ssim",
        )
    )
    ids = {g for _, _, a, b, _ in pairs for g in (a, b)}
    generations = Generation.objects.in_bulk(ids)
    requested = dict(
        (generation_id, (w, h))
        for generation_id, w, h in BenchSample.objects.filter(
            generation_id__in=ids, requested_width__isnull=False
        ).values_list("generation_id", "requested_width", "requested_height")
    )
    delivered: dict[str, set[int]] = defaultdict(set)
    similarity: dict[tuple[str, str], list[float]] = defaultdict(list)
    identical: Counter = Counter()
    for provider_a, provider_b, a, b, value in pairs:
        delivered[provider_a].add(a)
        delivered[provider_b].add(b)
        key = tuple(sorted((provider_a, provider_b)))
        similarity[key].append(value)
        identical[key] += a == b
    by_provider = {
        provider: [generations[g] for g in sorted(ids_)] for provider, ids_ in delivered.items()
    }
    rows = []
    for provider, images in sorted(by_provider.items()):
        (width, height), _ = Counter((g.width, g.height) for g in images).most_common(1)[0]
        asked = Counter(requested[g.id] for g in images if g.id in requested).most_common(1)
        rows.append(
            {
                "provider": provider,
                "images": len(images),
                "width": width,
                "height": height,
                "requested": asked[0][0] if asked else None,
                "format": Counter(_format(g.content_type) for g in images).most_common(1)[0][0],
                "median_bytes": int(median(g.bytes for g in images)),
            }
        )
    similarities = [
        {
            "a": a,
            "b": b,
            "median_ssim": round(median(values), 4),
            "pairs": len(values),
            "identical": identical[(a, b)],
        }
        for (a, b), values in sorted(similarity.items())
    ]
    return {
        "rows": rows,
        "pairs": len(pairs),
        "similarities": similarities,
        "callouts": _callouts(rows, _partners(pairs)),
    }


def _partners(pairs) -> dict[str, set[str]]:
    """provider -> the providers its images were compared with (the same requests)."""
    partners: dict[str, set[str]] = defaultdict(set)
    for provider_a, provider_b, *_ in pairs:
        partners[provider_a].add(provider_b)
        partners[provider_b].add(provider_a)
    return partners


def _format(content_type: str) -> str:
    return content_type.removeprefix("image/").upper().replace("JPG", "JPEG")


def _callouts(rows: list[dict], partners: dict[str, set[str]]) -> list[str]:
    """Offerings that deliver fewer pixels or another format than asked or than the
    offerings they were compared with on the same requests (never across requests:
    two runs may ask for different formats)."""
    by_provider = {row["provider"]: row for row in rows}
    callouts = []
    for row in rows:
        group = [row] + [by_provider[p] for p in sorted(partners[row["provider"]])]
        if len(group) < 2:
            continue
        largest = max(group, key=lambda r: r["width"] * r["height"])
        usual_format, usual_count = Counter(r["format"] for r in group).most_common(1)[0]
        pixels = row["width"] * row["height"]
        asked = row["requested"]
        if asked and pixels < asked[0] * asked[1]:
            callouts.append(
                f"{row['provider']} returns {row['width']}x{row['height']} images when "
                f"{asked[0]}x{asked[1]} was requested."
            )
        elif pixels < largest["width"] * largest["height"]:
            share = 1 - pixels / (largest["width"] * largest["height"])
            callouts.append(
                f"{row['provider']} returns smaller images: {row['width']}x{row['height']} where "
                f"{largest['provider']} returns {largest['width']}x{largest['height']} "
                f"({share:.0%} fewer pixels) for the same request."
            )
        if row["format"] != usual_format and usual_count > 1:
            callouts.append(
                f"{row['provider']} returns {row['format']} where the others return "
                f"{usual_format} for the same request."
            )
    return callouts
