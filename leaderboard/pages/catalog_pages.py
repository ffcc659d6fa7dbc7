"""Presenters of the catalog pages: the models, providers and challenges indexes,
and one provider or challenge page."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings

from leaderboard.models import ArenaMode
from leaderboard.pages import queries
from leaderboard.pages.params import BadQuery
from leaderboard.pages.presenters import (
    FAILURE_CLASSES,
    MODE_LABELS,
    ChartView,
    catalog_rows,
    chart_url,
    combine,
    offering_rows,
    records_of,
)
from leaderboard.pages.regions import provider_regions


def methodology_context() -> dict:
    """The settings the "How we measure" page quotes, so the page follows them."""
    return {
        "flag_min_votes": settings.ARENA_FLAG_MIN_VOTES,
        "flagged_share": settings.ARENA_FLAGGED_SHARE_PERCENT,
        "min_vote_ms": settings.ARENA_MIN_VOTE_MS,
    }


def models_index_context() -> dict:
    return {"models": catalog_rows()}


def providers_index_context() -> dict:
    catalog = queries.catalog()
    stats = queries.offering_stats()
    providers = []
    for provider in catalog.public_providers():
        offerings = catalog.offerings_by(provider.slug)
        provider_stats = [stats[o.id] for o in offerings if o.id in stats]
        requests = sum(s.sample_count for s in provider_stats)
        successes = sum(s.success_count for s in provider_stats)
        providers.append(
            {
                "provider": provider,
                "offerings": len(offerings),
                "requests": requests,
                "success_rate": successes / requests if requests else None,
            }
        )
    return {"providers": providers}


def challenges_index_context() -> dict:
    catalog = queries.catalog()
    votes: dict[str, int] = defaultdict(int)
    for tally in queries.vote_tallies():
        if tally.challenge_slug:
            votes[tally.challenge_slug] += tally.votes
    groups = []
    for mode, label in ArenaMode.choices:
        challenges = [c for c in catalog.challenges.values() if c.mode == mode]
        groups.append(
            {
                "label": label,
                "challenges": [
                    {
                        "challenge": c,
                        "category": catalog.categories[c.category_slug],
                        "votes": votes.get(c.slug, 0),
                    }
                    for c in challenges
                ],
            }
        )
    return {"groups": groups}


def provider_context(slug: str) -> dict:
    catalog = queries.catalog()
    provider = catalog.providers.get(slug)
    if provider is None:
        raise BadQuery(f"There is no provider {slug!r}.", status=404)
    # By median generation time (offering_rows' order), inactive offerings last.
    rows = sorted(offering_rows(catalog.offerings_by(slug)), key=lambda r: not r.is_live)
    measured = [row for row in rows if row.stats is not None]
    requests = sum(row.stats.sample_count for row in measured)
    successes = sum(row.stats.success_count for row in measured)
    failure_totals: dict[str, int] = defaultdict(int)
    for row in measured:
        for name, count, _share in row.failures:
            failure_totals[name] += count
    days = queries.daily_success(slug)
    daily_totals: dict = {}
    for entry in days:
        total = daily_totals.setdefault(entry.day, [0, 0])
        total[0] += entry.requests
        total[1] += entry.successes
    window_days = max((row.stats.window_days for row in measured), default=30)
    return {
        "provider": provider,
        "rows": rows,
        "requests": requests,
        "success_rate": successes / requests if requests else None,
        "gateway_requests": sum(row.stats.gateway_sample_count for row in measured),
        "window_days": window_days,
        "computed_at": max((row.stats.computed_at for row in measured), default=None),
        "failure_rows": [row for row in measured if row.failures],
        "failure_totals": sorted(failure_totals.items(), key=lambda item: -item[1]),
        "failure_classes": FAILURE_CLASSES,
        "daily": [
            {"day": day, "requests": n, "successes": ok, "rate": ok / n if n else None}
            for day, (n, ok) in sorted(daily_totals.items())
        ],
        "success_chart": ChartView(
            url=chart_url("chart-provider-success", slug=slug),
            title=f"{provider.name}: success rate per day",
            alt=(
                f"Line chart of {provider.name}'s daily success rate over the last {window_days} "
                "days, for all its offerings together and for each offering. The table below "
                "gives the daily figures."
            ),
        ),
        "has_demo": queries.has_demo_data(),
        "regions": provider_regions(slug, window_days),
    }


def challenge_context(slug: str) -> dict:
    catalog = queries.catalog()
    challenge = catalog.challenges.get(slug)
    if challenge is None:
        raise BadQuery(f"There is no challenge {slug!r}.", status=404)
    generations = queries.challenge_generations(slug)
    images, seen = [], set()
    for generation in generations:  # newest first: one image per model
        if generation.model_slug in seen:
            continue
        seen.add(generation.model_slug)
        offering = catalog.offerings[generation.offering_id]
        images.append(
            {
                "generation": generation,
                "model": catalog.models[generation.model_slug],
                "provider": catalog.providers[offering.provider_slug],
            }
        )
    images.sort(key=lambda image: image["model"].name)
    tallies = [t for t in queries.vote_tallies() if t.challenge_slug == slug]
    standings = []
    for model_slug in sorted({t.model_x for t in tallies} | {t.model_y for t in tallies}):
        records = records_of(model_slug, tallies)
        standings.append(combine(records, challenge=challenge, every_opponent=True))
    standings.sort(key=lambda r: (-(r.win_share or 0), -r.votes, r.model.name))
    pairs = [
        {
            "x": catalog.models[t.model_x],
            "y": catalog.models[t.model_y],
            "tally": t,
        }
        for t in sorted(tallies, key=lambda t: -t.votes)
    ]
    return {
        "challenge": challenge,
        "category": catalog.categories[challenge.category_slug],
        "mode_label": MODE_LABELS[challenge.mode],
        "images": images,
        "standings": standings,
        "pairs": pairs,
        "votes": sum(t.votes for t in tallies),
        "has_demo": queries.has_demo_data(),
    }
