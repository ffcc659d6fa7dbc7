"""The model page: every section of the reference page, from our own data.

Overview, provider performance, providers and pricing, the OpenAI-compatible API,
the parameter reference, benchmarks, the Elo-versus-cost/speed landscape, competition
results, top matchups, "best for", gallery and an FAQ generated from the numbers.
"""

from __future__ import annotations

import json
from collections import defaultdict

from bench.pricing import PricingError, format_usd, pricing_notes, request_cost_usd
from bench.sizes import size_table
from leaderboard.models import ArenaMode
from leaderboard.pages import queries
from leaderboard.pages.hero import hero_of
from leaderboard.pages.landscape import METRICS, build_landscape
from leaderboard.pages.parameter_reference import parameter_reference
from leaderboard.pages.params import BadQuery, BoardQuery
from leaderboard.pages.presenters import (
    MODE_LABELS,
    MODE_PHRASES,
    ChartView,
    board_links,
    board_rows,
    chart_url,
    cheapest_offering,
    combine,
    head_to_heads,
    landscape_chart,
    offering_rows,
    price_order,
    records_of,
    speed_sentence,
)

GALLERY_SIZE = 24
TOP_MATCHUPS = 10
HISTORY_TABLE_POINTS = 12
CDF_TABLE_QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99)
EDIT_EXAMPLE_REFERENCES = 2
# "Best for" names a category only with this many votes behind the model's rating.
BEST_FOR_MIN_VOTES = 50


def model_context(slug: str, *, api_base: str) -> dict:
    catalog = queries.catalog()
    model = catalog.models.get(slug)
    if model is None:
        raise BadQuery(f"There is no model {slug!r}.", status=404)
    live = catalog.offerings_of(slug)
    providers = offering_rows(live)
    cheapest = cheapest_offering(slug)
    benchmarks = _benchmarks(model)
    best_for = _best_for(model)
    context = {
        "model": model,
        "mode_labels": [MODE_LABELS[mode] for mode in model.modes],
        "providers": providers,
        "cheapest": (
            {"price": cheapest[1], "provider": catalog.providers[cheapest[0].provider_slug]}
            if cheapest
            else None
        ),
        "performance": _performance(model, providers),
        "pricing": _pricing(model, live),
        "api": {"base": api_base, "model_id": model.slug},
        "sizes": _sizes(live),
        "parameters": parameter_reference(model, [offering.id for offering in live]),
        "benchmarks": benchmarks,
        "landscapes": _landscapes(model),
        "competition": _competition(model),
        "matchups": head_to_heads(slug)[:TOP_MATCHUPS],
        "best_for": best_for,
        "gallery": _gallery(model),
        "hero": hero_of(model),
        "has_demo": queries.has_demo_data(),
    }
    context["faq"] = _faq(context)
    return context


def _performance(model, providers) -> dict:
    measured = [row for row in providers if row.stats is not None]
    timed = [row for row in measured if row.rank is not None]
    requests = sum(row.stats.sample_count for row in measured)
    successes = sum(row.stats.success_count for row in measured)
    ttfbs = [row for row in measured if row.stats.ttfb_p50_ms is not None]
    fastest_ttfb = min(ttfbs, key=lambda row: row.stats.ttfb_p50_ms) if ttfbs else None
    distributions = queries.latency_distributions(model.slug)
    cdf_rows = [
        {
            "row": row,
            "samples": distributions[row.offering.id].samples,
            "quantiles": [distributions[row.offering.id].quantile(q) for q in CDF_TABLE_QUANTILES],
        }
        for row in providers
        if row.offering.id in distributions
    ]
    return {
        "sentence": speed_sentence(timed[0] if timed else None),
        "fastest": timed[0] if timed else None,
        "fastest_ttfb": fastest_ttfb,
        "requests": requests,
        "simulated_requests": sum(row.stats.sample_count for row in measured if row.is_simulated),
        "gateway_requests": sum(row.stats.gateway_sample_count for row in measured),
        "success_rate": successes / requests if requests else None,
        "window_days": max((row.stats.window_days for row in measured), default=30),
        "computed_at": max((row.stats.computed_at for row in measured), default=None),
        "cdf_rows": cdf_rows,
        "cdf_labels": [f"p{round(q * 100)}" for q in CDF_TABLE_QUANTILES],
        "cdf_chart": ChartView(
            url=chart_url("chart-model-latency", slug=model.slug),
            title=f"{model.name}: generation time distribution per provider",
            alt=(
                f"Cumulative distribution of successful generation times of {model.name} for "
                f"{len(cdf_rows)} providers. The table below gives each provider's percentiles."
            ),
        )
        if cdf_rows
        else None,
    }


def _pricing(model, live) -> dict:
    catalog = queries.catalog()
    offerings = sorted(
        (o for o in live if o.price_per_image_usd is not None),
        key=lambda o: price_order(o, catalog),
    )
    entries = []
    for offering in offerings:
        rule = offering.pricing_rule
        entries.append(
            {
                "offering": offering,
                "provider": catalog.providers[offering.provider_slug],
                "price": offering.price_per_image_usd,
                "unit": "per megapixel" if rule.unit == "megapixel" else "per image",
                "notes": pricing_notes(rule),
                "examples": _cost_examples(model, offering),
            }
        )
    summary = None
    if entries:
        first = entries[0]
        count = len({o.provider_slug for o in live})
        summary = (
            f"{model.name} is available from {count} provider{'s' if count != 1 else ''}, "
            f"with per-image pricing starting at {format_usd(first['price'])} "
            f"through {first['provider'].name}"
            + (" (estimated)." if first["offering"].price_is_estimated else ".")
        )
    return {
        "entries": entries,
        "summary": summary,
        "has_estimates": any(e["offering"].price_is_estimated for e in entries),
    }


def _cost_examples(model, offering) -> list[tuple[str, object]]:
    """Worked costs for typical requests, computed from the pricing rule."""
    rule = offering.pricing_rule
    rules = offering.size_rules
    examples = [("1024×1024 text to image", offering.price_per_image_usd)]
    if rules is not None:
        for tier in rules.tiers:
            if tier in ("1K", "1"):
                continue
            square = next(
                (row for row in size_table(rules, tier) if row.aspect_ratio == "1:1"),
                size_table(rules, tier)[0],
            )
            try:
                cost = request_cost_usd(rule, square.width, square.height, tier=tier)
            except PricingError:
                continue
            label = tier if tier.upper().endswith("K") else f"{tier} MP"
            examples.append((f"{square.width}×{square.height} ({label}) text to image", cost))
    references = min(EDIT_EXAMPLE_REFERENCES, offering.max_reference_images)
    if model.does_edit and references:
        cost = request_cost_usd(rule, 1024, 1024, [(1024, 1024)] * references)
        examples.append(
            (f"Edit: 1024×1024 output with {references} reference images of 1024×1024", cost)
        )
    return examples


def _sizes(live) -> list[dict]:
    """One size reference per distinct set of size rules among the live offerings."""
    catalog = queries.catalog()
    groups: dict[str, dict] = {}
    for offering in live:
        rules = offering.size_rules
        if rules is None:
            continue
        key = json.dumps(rules.to_json(), sort_keys=True)
        group = groups.setdefault(key, {"rules": rules, "providers": []})
        group["providers"].append(catalog.providers[offering.provider_slug])
    result = []
    for group in groups.values():
        rules = group["rules"]
        custom = None
        if rules.custom:
            custom = f"any width × height with sides of {rules.min_side}–{rules.max_side:,} px"
            if rules.multiple_of > 1:
                custom += f", rounded to multiples of {rules.multiple_of}"
            if rules.max_mp:
                custom += f", scaled down to fit {rules.max_mp} MP"
        result.append(
            {
                "providers": group["providers"],
                "rules": rules,
                "custom": custom,
                "tiers": [{"tier": tier, "rows": size_table(rules, tier)} for tier in rules.tiers],
                "largest_square": max(
                    (
                        row
                        for tier in rules.tiers
                        for row in size_table(rules, tier)
                        if row.aspect_ratio == "1:1"
                    ),
                    key=lambda row: row.pixels,
                    default=None,
                ),
            }
        )
    return result


def _standing(board, model_slug: str) -> dict | None:
    if board is None:
        return None
    rating = board.rating_of(model_slug)
    if rating is None:
        return None
    return {
        "rank": rating.rank,
        "rank_best": rating.rank_best,
        "rank_worst": rating.rank_worst,
        "of": len(board.rated),
        "rating": rating.rating,
        "ci_low": rating.ci_low,
        "ci_high": rating.ci_high,
        "votes": rating.votes,
        "win_rate": rating.win_rate,
        "is_provisional": rating.is_provisional,
        "status": rating.status,
        "history": rating.elo_history,
    }


def _benchmarks(model) -> dict:
    boards = queries.boards()
    arenas = []
    for mode in model.modes:
        overall = _standing(boards.get((mode, "", "all")), model.slug)
        recent = _standing(boards.get((mode, "", "30d")), model.slug)
        query = BoardQuery(mode=mode)
        arenas.append(
            {
                "mode": mode,
                "label": MODE_LABELS[mode],
                "phrase": MODE_PHRASES[mode],
                "all": overall,
                "recent": recent,
                "url": board_links(query)["page"],
            }
        )
    clauses = []
    for arena in arenas:
        standing = arena["all"]
        if standing and standing["rating"] is not None:
            clauses.append(
                f"#{standing['rank']} of {standing['of']} in {arena['phrase']} with "
                f"{standing['rating']:.0f} (95% interval {standing['ci_low']:.0f}–"
                f"{standing['ci_high']:.0f}, {standing['votes']:,} votes"
                + (", provisional" if standing["is_provisional"] else "")
                + ")"
            )
        else:
            votes = standing["votes"] if standing else 0
            clauses.append(f"no rating yet in {arena['phrase']} ({votes:,} votes so far)")
    sentence = f"{model.name} currently holds " + " and ".join(clauses) + "." if clauses else None
    history = [
        {
            "label": arena["label"],
            "points": _sample_points(arena["all"]["history"], HISTORY_TABLE_POINTS),
        }
        for arena in arenas
        if arena["all"] and arena["all"]["history"]
    ]
    return {
        "arenas": arenas,
        "sentence": sentence,
        "history": history,
        "history_chart": ChartView(
            url=chart_url("chart-model-history", slug=model.slug),
            title=f"{model.name}: rating over time",
            alt=(
                f"Line chart of {model.name}'s online Elo rating over time, one line per arena. "
                "The table below lists sampled values."
            ),
            caption=_history_caption(arenas),
        )
        if history
        else None,
    }


def _history_caption(arenas) -> str:
    """Why the line's last point is not the rating the page shows, when it is not."""
    gaps = []
    for arena in arenas:
        standing = arena["all"]
        if not standing or not standing["history"] or standing["rating"] is None:
            continue
        last = standing["history"][-1][1]
        if round(last) != round(standing["rating"]):
            gaps.append(
                f"the {arena['phrase']} line ends at {last:.0f}, the current rating is "
                f"{standing['rating']:.0f}"
            )
    if not gaps:
        return "The lines replay the votes through online Elo in the order they were cast."
    return (
        "The lines replay the votes through online Elo in the order they were cast; the "
        "ratings on this page are the Bradley-Terry fit of all votes at once, which does not "
        "depend on their order, so the two differ (" + "; ".join(gaps) + ")."
    )


def _sample_points(points, count: int) -> list:
    if len(points) <= count:
        return list(points)
    step = (len(points) - 1) / (count - 1)
    return [points[round(i * step)] for i in range(count)]


def _landscapes(model) -> list[dict]:
    """Per arena the model is rated in: both landscape charts, with where it stands."""
    boards = queries.boards()
    result = []
    for mode in model.modes:
        query = BoardQuery(mode=mode)
        rows = [row for row in board_rows(boards.get(query.key)) if row.rating is not None]
        if not any(row.model.slug == model.slug for row in rows):
            continue
        charts = []
        for metric in METRICS:
            landscape = build_landscape(rows, metric)
            charts.append(
                {
                    "chart": landscape_chart(landscape, query, highlight=model),
                    "position": _position(model, landscape),
                }
            )
        result.append({"mode": mode, "mode_label": MODE_LABELS[mode], "charts": charts})
    return result


def _position(model, landscape) -> str:
    """Where the model stands against the frontier, in one sentence."""
    metric = METRICS[landscape.metric]
    point = next((p for p in landscape.points if p.slug == model.slug), None)
    if point is None:
        return f"{model.name} has no {metric['column'].lower()} yet, so it is not plotted."
    if point.slug in landscape.frontier_slugs:
        return (
            f"{model.name} is on the Pareto frontier: no model is both {metric['better']} "
            "and better rated."
        )
    better = [p.name for p in landscape.points if p.x <= point.x and p.y > point.y]
    verb = "is" if len(better) == 1 else "are"
    return (
        f"{model.name} is not on the frontier: {_join(better)} {verb} at least as "
        f"{metric['adjective']} and rated higher."
    )


def _competition(model) -> list[dict]:
    catalog = queries.catalog()
    newest: dict[str, object] = {}
    for generation in queries.model_generations(model.slug):
        newest.setdefault(generation.challenge_slug, generation)
    by_challenge = defaultdict(list)
    for record in records_of(model.slug, queries.vote_tallies()):
        if record.challenge is not None:
            by_challenge[record.challenge.slug].append(record)
    entries = []
    for slug, generation in newest.items():
        challenge = catalog.challenges[slug]
        records = by_challenge.get(slug)
        entries.append(
            {
                "challenge": challenge,
                "category": catalog.categories[challenge.category_slug],
                "mode_label": MODE_LABELS[challenge.mode],
                "generation": generation,
                "provider": catalog.providers[
                    catalog.offerings[generation.offering_id].provider_slug
                ],
                "record": combine(records, challenge=challenge, every_opponent=True)
                if records
                else None,
            }
        )
    entries.sort(
        key=lambda e: (e["challenge"].mode != ArenaMode.TEXT_TO_IMAGE, e["challenge"].title)
    )
    return entries


def _best_for(model) -> dict:
    """Category boards with the model; "best for" only where it is first by rating with
    BEST_FOR_MIN_VOTES votes, "clearly best" where its interval clears every other's."""
    catalog = queries.catalog()
    entries = []
    for (mode, category, window), board in queries.boards().items():
        if not category or window != "all":
            continue
        rating = board.rating_of(model.slug)
        if rating is None or rating.rating is None:
            continue
        others = [r for r in board.rated if r.model_slug != model.slug]
        entries.append(
            {
                "mode_label": MODE_LABELS[mode],
                "mode": mode,
                "category": catalog.categories[category],
                "rank": rating.rank,
                "rank_best": rating.rank_best,
                "rank_worst": rating.rank_worst,
                "of": len(board.rated),
                "win_rate": rating.win_rate,
                "rating": rating.rating,
                "votes": rating.votes,
                "is_provisional": rating.is_provisional,
                "is_best": rating.rank == 1 and rating.votes >= BEST_FOR_MIN_VOTES,
                "is_clearly_best": is_clearly_best(rating, others),
                "url": board_links(BoardQuery(mode=mode, category=category))["page"],
            }
        )
    entries.sort(
        key=lambda e: (e["rank"] or 10**6, -(e["win_rate"] or 0), e["category"].name, e["mode"])
    )
    best = [e for e in entries if e["is_best"]]
    return {"entries": entries, "best": best, "sentence": _best_for_sentence(model, best)}


def is_clearly_best(rating, others) -> bool:
    """The model's lower bound is above every other rated model's upper bound."""
    if rating.ci_low is None or not others:
        return False
    return all(o.ci_high is not None and rating.ci_low > o.ci_high for o in others)


def _best_for_sentence(model, best: list[dict]) -> str:
    if not best:
        return (
            f"{model.name} is not first by rating, with at least {BEST_FOR_MIN_VOTES} votes, "
            "in any use-case category."
        )
    parts = [
        f"{e['category'].name} ({MODE_PHRASES[e['mode']]}, "
        + (
            "clearly best: its whole 95% interval lies above every other model's)"
            if e["is_clearly_best"]
            else f"first by rating, though it could rank {e['rank_best']}–{e['rank_worst']})"
            if e["rank_worst"] and e["rank_worst"] > 1
            else "first by rating)"
        )
        for e in best
    ]
    return f"{model.name} is first by rating in " + _join(parts) + "."


def _gallery(model) -> dict:
    catalog = queries.catalog()
    generations = queries.model_generations(model.slug)
    return {
        "count": len(generations),
        "is_capped": len(generations) >= queries.GALLERY_SCAN_LIMIT,
        "images": [
            {
                "generation": g,
                "challenge": catalog.challenges[g.challenge_slug],
                "provider": catalog.providers[catalog.offerings[g.offering_id].provider_slug],
            }
            for g in generations[:GALLERY_SIZE]
        ],
    }


def _faq(context: dict) -> list[tuple[str, str]]:
    """The model page's questions and answers, from the figures already on the page.

    Long on purpose: one short block per question, in the order the page shows them.
    """
    model = context["model"]
    name = model.name
    faq = []
    pricing = context["pricing"]["entries"]
    if pricing:
        prices = [entry["price"] for entry in pricing]
        first = pricing[0]
        answer = (
            f"{name} starts at {format_usd(first['price'])} per 1024×1024 image through "
            f"{first['provider'].name}"
        )
        if len(pricing) > 1 and max(prices) != min(prices):
            answer += f"; across {len(pricing)} providers it costs up to {format_usd(max(prices))}"
        is_estimated = first["offering"].price_is_estimated
        estimated = ", estimated from secondary sources" if is_estimated else ""
        answer += (
            ". Every price is computed from the provider's pricing rule "
            f"({first['notes'][0].lower()} at {first['provider'].name}{estimated})."
        )
        faq.append((f"How much does {name} cost?", answer))
    faq.append(
        (
            f"How do I use {name} through an API?",
            f"Send OpenAI-style image requests to {context['api']['base']} "
            f'with model "{model.slug}". '
            "Any OpenAI-compatible client works unchanged; the examples above show curl, Python "
            "and JavaScript.",
        )
    )
    providers = [row.provider.name for row in context["providers"]]
    if providers:
        faq.append(
            (
                f"Which providers offer {name}?",
                f"{name} is served by {_join(sorted(set(providers)))}. The API routes each request "
                "to the best offering by live success rate and speed, and fails over.",
            )
        )
    sentence = context["performance"]["sentence"]
    if sentence:
        performance = context["performance"]
        faq.append(
            (
                f"Which provider is fastest for {name}?",
                f"{sentence} Measured on {performance['requests']:,} requests over the last "
                f"{performance['window_days']} days.",
            )
        )
    squares = [group["largest_square"] for group in context["sizes"] if group["largest_square"]]
    if squares:
        largest = max(squares, key=lambda row: row.pixels)
        faq.append(
            (
                f"What is the maximum resolution of {name}?",
                f"{name} supports images up to {largest.width}×{largest.height} "
                f"(1:1 at the {largest.tier} tier), and other shapes up to "
                f"{model.max_output_mp.normalize():f} megapixels.",
            )
        )
    if context["benchmarks"]["sentence"]:
        faq.append((f"How good is {name}?", context["benchmarks"]["sentence"]))
    if context["best_for"]["sentence"]:
        faq.append((f"What is {name} best for?", context["best_for"]["sentence"]))
    if model.does_edit:
        edit = (
            f"Yes: {name} edits images from a prompt and up to {model.max_reference_images} "
            "reference images (multipart upload to /v1/images/edits)."
        )
    else:
        edit = f"No, {name} only generates images from text."
    faq.append((f"Can {name} edit images?", edit))
    faq.append(
        (
            f"Is {name} open weights?",
            f"Yes, {model.vendor} publishes its weights."
            if model.is_open_weights
            else f"No, {name} is available only through {model.vendor}'s and partners' APIs.",
        )
    )
    return faq


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
