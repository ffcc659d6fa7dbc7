"""Serving boards: per model, its offerings rated against each other from the serving
arena's votes, with a plain-words verdict. Written by `manage.py serving_boards`
(a step of its own, apart from the model ratings); pages and the API only read them.
"""

from __future__ import annotations

import time

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leaderboard.models import ImageModel, Offering, ServingBoard, ServingVote, VoterExclusion
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
        "is_demo": payload["is_demo"],
    }


def serving_context(slug: str) -> dict:
    """The model page's context for its serving section (one key, `serving`)."""
    return {"serving": serving_section(slug)}
