"""The public data API: the leaderboard, a model, provider stats, as JSON and CSV.

Answers are built from the same presenter rows as the pages and cached per snapshot.
Errors are JSON too: {"error": "invalid_parameter" | "not_found", "param", "message"}.
Money is a decimal string ("0.015"), never a float; times are ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import io
import json
from functools import wraps

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from bench.pricing import pricing_notes
from leaderboard.csv_cells import neutralize_row
from leaderboard.pages import chart_data, presenters, queries
from leaderboard.pages.cache import cached, current_snapshot
from leaderboard.pages.http_cache import snapshot_validated
from leaderboard.pages.landscape import METRICS, build_landscape
from leaderboard.pages.params import BadQuery, BoardQuery, board_query

LEADERBOARD_COLUMNS = [
    "rank",
    "rank_best",
    "rank_worst",
    "model",
    "name",
    "vendor",
    "rating",
    "ci_low",
    "ci_high",
    "votes",
    "wins",
    "losses",
    "ties",
    "both_bad",
    "win_rate",
    "provisional",
    "status",
    "price_per_image_usd",
    "cheapest_provider",
    "p50_generation_ms",
    "fastest_provider",
    "pareto_cost",
    "pareto_speed",
]
STATS_COLUMNS = [
    "model",
    "provider",
    "offering",
    "provider_model_id",
    "is_live",
    "rank",
    "computed_at",
    "window_days",
    "sample_count",
    "success_count",
    "success_rate",
    "success_ci_low",
    "success_ci_high",
    "generation_p50_ms",
    "generation_p95_ms",
    "generation_p99_ms",
    "ttfb_p50_ms",
    "submit_ttfb_p50_ms",
    "cost_per_success_usd",
    "gateway_sample_count",
    "price_per_image_usd",
]
MODEL_BOARD_COLUMNS = [
    "mode",
    "category",
    "window",
    "rank",
    "of",
    "rating",
    "ci_low",
    "ci_high",
    "votes",
    "win_rate",
    "provisional",
]


def api_view(view):
    """GET (and HEAD) only, open to any origin; BadQuery becomes a JSON error with its status.
    Answers carry validators and a public Cache-Control; conditional requests get 304s."""

    validated = snapshot_validated(view)

    @require_safe
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = validated(request, *args, **kwargs)
        except BadQuery as error:
            response = JsonResponse(
                {"error": error.code, "param": error.param, "message": error.message},
                status=error.status,
            )
        response["Access-Control-Allow-Origin"] = "*"
        return response

    return wrapper


def _json_response(name: str, build, *parts) -> HttpResponse:
    """The payload serialized once per snapshot (DjangoJSONEncoder: Decimal as a string)."""
    body = cached(
        f"json:{name}",
        lambda: json.dumps(cached(name, build, *parts), cls=DjangoJSONEncoder).encode(),
        *parts,
    )
    return HttpResponse(body, content_type="application/json")


def _board_query(request) -> BoardQuery:
    return board_query(request.GET, categories=queries.category_slugs())


def _csv_response(rows: list[dict], columns: list[str], filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(neutralize_row(row) for row in rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Leaderboard ---------------------------------------------------------------------------


def leaderboard_payload(query: BoardQuery) -> dict:
    board = queries.boards().get(query.key)
    rows = presenters.board_rows(board)
    rated = [row for row in rows if row.rating is not None]
    frontiers = {metric: build_landscape(rated, metric).frontier_slugs for metric in METRICS}
    return {
        "mode": query.mode,
        "category": query.category,
        "window": query.window,
        "computed_at": board.computed_at if board else None,
        "vote_count": board.vote_count if board else 0,
        "excluded_vote_count": board.excluded_vote_count if board else 0,
        "bootstrap_rounds": board.bootstrap_rounds if board else None,
        "seed": board.seed if board else None,
        "notes": list(board.notes) if board else ["No votes yet for this leaderboard."],
        "models": [_board_row(row, frontiers) for row in rows],
        "votes_csv": reverse("export-votes", kwargs={"mode": query.mode}),
    }


def _board_row(row: presenters.BoardRow, frontiers: dict) -> dict:
    return {
        "rank": row.rank,
        "rank_best": row.rank_best,
        "rank_worst": row.rank_worst,
        "model": row.model.slug,
        "name": row.model.name,
        "vendor": row.model.vendor,
        "rating": _round(row.rating, 2),
        "ci_low": _round(row.ci_low, 2),
        "ci_high": _round(row.ci_high, 2),
        "votes": row.votes,
        "wins": row.wins,
        "losses": row.losses,
        "ties": row.ties,
        "both_bad": row.both_bad,
        "win_rate": _round(row.win_rate, 4),
        "provisional": row.is_provisional,
        "status": row.status,
        "price_per_image_usd": row.price_per_image_usd,
        "cheapest_provider": row.cheapest_provider.slug if row.cheapest_provider else None,
        "p50_generation_ms": _round(row.fastest_p50_ms, 1),
        "fastest_provider": row.fastest_provider.slug if row.fastest_provider else None,
        "pareto_cost": row.model.slug in frontiers["cost"],
        "pareto_speed": row.model.slug in frontiers["speed"],
        "url": reverse("model", kwargs={"slug": row.model.slug}),
    }


@api_view
def leaderboard_json(request):
    query = _board_query(request)
    return _json_response("api-leaderboard", lambda: leaderboard_payload(query), *query.key)


@api_view
def leaderboard_csv(request):
    query = _board_query(request)
    payload = cached("api-leaderboard", lambda: leaderboard_payload(query), *query.key)
    name = "-".join(filter(None, ["leaderboard", query.mode, query.category, query.window]))
    return _csv_response(payload["models"], LEADERBOARD_COLUMNS, f"{name}.csv")


# Provider stats ------------------------------------------------------------------------


def stats_payload(model_slug: str | None) -> dict:
    catalog = queries.catalog()
    offerings = (
        catalog.offerings_of(model_slug, active_only=False)
        if model_slug
        else list(catalog.offerings.values())
    )
    rows = presenters.offering_rows(offerings)
    if not model_slug:
        rows.sort(key=lambda row: (row.model.name, row.rank or 10**6, row.provider.name))
    return {
        "model": model_slug,
        "snapshot": current_snapshot().stats_at,
        "offerings": [_stats_row(row) for row in rows],
    }


def _stats_row(row: presenters.OfferingRow) -> dict:
    stats = row.stats
    entry = {
        "model": row.model.slug,
        "provider": row.provider.slug,
        "offering": row.offering.key,
        "provider_model_id": row.offering.provider_model_id,
        "is_live": row.is_live,
        "rank": row.rank,
        "price_per_image_usd": row.offering.price_per_image_usd,
    }
    if stats is None:  # never benchmarked: the same keys, empty
        return {**entry, **{key: None for key in _STATS_KEYS}, "sample_count": 0, "failures": {}}
    return {
        **entry,
        "computed_at": stats.computed_at,
        "window_days": stats.window_days,
        "sample_count": stats.sample_count,
        "success_count": stats.success_count,
        "success_rate": _round(stats.success_rate, 4),
        "success_ci_low": _round(stats.success_ci_low, 4),
        "success_ci_high": _round(stats.success_ci_high, 4),
        "generation_p50_ms": _round(stats.generation_p50_ms, 1),
        "generation_p95_ms": _round(stats.generation_p95_ms, 1),
        "generation_p99_ms": _round(stats.generation_p99_ms, 1),
        "ttfb_p50_ms": _round(stats.ttfb_p50_ms, 1),
        "submit_ttfb_p50_ms": _round(stats.submit_ttfb_p50_ms, 1),
        "cost_per_success_usd": stats.cost_per_success_usd,
        "gateway_sample_count": stats.gateway_sample_count,
        "failures": dict(stats.failures),
    }


_STATS_KEYS = [
    "computed_at",
    "window_days",
    "sample_count",
    "success_count",
    "success_rate",
    "success_ci_low",
    "success_ci_high",
    "generation_p50_ms",
    "generation_p95_ms",
    "generation_p99_ms",
    "ttfb_p50_ms",
    "submit_ttfb_p50_ms",
    "cost_per_success_usd",
    "gateway_sample_count",
]


def _stats_model(request) -> str | None:
    slug = request.GET.get("model") or None
    if slug is not None and slug not in queries.catalog().models:
        raise BadQuery(f"model: there is no model {slug!r}.", param="model", status=404)
    return slug


@api_view
def provider_stats_json(request):
    slug = _stats_model(request)
    return _json_response("api-stats", lambda: stats_payload(slug), slug)


@api_view
def provider_stats_csv(request):
    slug = _stats_model(request)
    payload = cached("api-stats", lambda: stats_payload(slug), slug)
    rows = payload["offerings"]
    classes = sorted({name for row in rows for name in row["failures"]})
    flat = [
        {**row, **{f"failures_{name}": row["failures"].get(name, 0) for name in classes}}
        for row in rows
    ]
    columns = STATS_COLUMNS + [f"failures_{name}" for name in classes]
    return _csv_response(flat, columns, f"provider-stats{'-' + slug if slug else ''}.csv")


# Model ---------------------------------------------------------------------------------


def model_payload(slug: str) -> dict:
    """The document of ``GET /api/models/<slug>``.

    Long on purpose: one JSON document's shape, field by field, in one place (the API
    reference on /data/ follows it).
    """
    catalog = queries.catalog()
    model = catalog.models.get(slug)
    if model is None:
        raise BadQuery(f"There is no model {slug!r}.", status=404)
    boards = []
    for (mode, category, window), board in sorted(queries.boards().items()):
        rating = board.rating_of(slug)
        if rating is None:
            continue
        boards.append(
            {
                "mode": mode,
                "category": category or None,
                "window": window,
                "rank": rating.rank,
                "rank_best": rating.rank_best,
                "rank_worst": rating.rank_worst,
                "of": len(board.rated),
                "rating": _round(rating.rating, 2),
                "ci_low": _round(rating.ci_low, 2),
                "ci_high": _round(rating.ci_high, 2),
                "votes": rating.votes,
                "win_rate": _round(rating.win_rate, 4),
                "provisional": rating.is_provisional,
            }
        )
    history = {
        series.key: [list(p) for p in series.points] for series in chart_data.history_series(slug)
    }
    offerings = []
    for offering in catalog.offerings_of(slug, active_only=False):
        offerings.append(
            {
                "offering": offering.key,
                "provider": offering.provider_slug,
                "provider_model_id": offering.provider_model_id,
                "edit_model_id": offering.edit_model_id or None,
                "is_live": catalog.is_live(offering),
                "price_per_image_usd": offering.price_per_image_usd,
                "pricing": offering.pricing,
                "pricing_notes": pricing_notes(offering.pricing_rule),
                "price_source_url": offering.price_source_url or None,
                "price_checked_on": offering.price_checked_on,
                "price_is_estimated": offering.price_is_estimated,
                "sizes": offering.size_rules.to_json() if offering.size_rules else None,
            }
        )
    return {
        "model": model.slug,
        "name": model.name,
        "vendor": model.vendor,
        "description": model.description,
        "modes": list(model.modes),
        "max_output_mp": model.max_output_mp,
        "max_reference_images": model.max_reference_images,
        "release_date": model.release_date,
        "open_weights": model.is_open_weights,
        "active": model.is_active,
        "ratings_computed_at": current_snapshot().ratings_at,
        "leaderboards": boards,
        "elo_history": history,
        "offerings": offerings,
        "provider_stats": stats_payload(slug)["offerings"],
        "matchups": [
            {
                "opponent": m.total.opponent.slug,
                "votes": m.total.votes,
                "wins": m.total.wins,
                "losses": m.total.losses,
                "ties": m.total.ties,
                "both_bad": m.total.both_bad,
                "by_challenge": [
                    {
                        "challenge": r.challenge.slug if r.challenge else None,
                        "votes": r.votes,
                        "wins": r.wins,
                        "losses": r.losses,
                        "ties": r.ties,
                        "both_bad": r.both_bad,
                    }
                    for r in m.by_challenge
                ],
            }
            for m in presenters.head_to_heads(slug)
        ],
        "url": reverse("model", kwargs={"slug": slug}),
    }


@api_view
def model_json(request, slug):
    return _json_response("api-model", lambda: model_payload(slug), slug)


@api_view
def model_csv(request, slug):
    payload = cached("api-model", lambda: model_payload(slug), slug)
    return _csv_response(payload["leaderboards"], MODEL_BOARD_COLUMNS, f"model-{slug}.csv")


def _round(value, digits):
    return None if value is None else round(value, digits)
