"""What the home and leaderboard pages show, and the rows every page shares.

Built from the cached datasets in `queries`: board rows, offering rows, the speed
sentence, records and matchups, which `model_page.py` and `catalog_pages.py` (the
other pages' presenters) and `chart_data.py` reuse. Templates only format them; the
API (`api.py`) serializes the same rows, so a number on a page and in the API always
come from one place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse

from bench.pricing import PricingError, request_cost_usd
from bench.stats import fastest_sentence
from leaderboard.arena.pool import is_simulated_provider
from leaderboard.models import ArenaMode, RatingWindow, SampleStatus
from leaderboard.pages import queries
from leaderboard.pages.board_queries import BoardInfo, Tally
from leaderboard.pages.cache import current_snapshot
from leaderboard.pages.catalog_queries import ChallengeInfo, ModelInfo, OfferingInfo, ProviderInfo
from leaderboard.pages.landscape import METRICS, Landscape, build_landscape
from leaderboard.pages.params import BoardQuery
from leaderboard.pages.stats_queries import StatsInfo

MODE_LABELS = dict(ArenaMode.choices)
MODE_PHRASES = {ArenaMode.TEXT_TO_IMAGE: "text-to-image", ArenaMode.EDIT: "image editing"}
WINDOW_LABELS = dict(RatingWindow.choices)
FAILURE_CLASSES = [
    s for s in SampleStatus.values if s not in (SampleStatus.OK, SampleStatus.SKIPPED)
]
HOME_BOARD_ROWS = 10
# A board's speed column uses its own mode's requests once an offering has this many.
MODE_SPEED_MIN_SAMPLES = 5
MATCHUP_CHALLENGES_SHOWN = 3


@dataclass(frozen=True)
class BoardRow:
    """One model on one leaderboard, with its cheapest price and its fastest provider."""

    model: ModelInfo
    rating: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    rank_best: int | None
    rank_worst: int | None
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float | None
    is_provisional: bool
    status: str
    price_per_image_usd: Decimal | None
    cheapest_provider: ProviderInfo | None
    fastest_p50_ms: float | None
    fastest_provider: ProviderInfo | None

    @property
    def has_rank_range(self) -> bool:
        return (
            self.rank_best is not None
            and self.rank_worst is not None
            and self.rank_worst > self.rank_best
        )


@dataclass(frozen=True)
class OfferingRow:
    """One offering with its current stats (None when it has never been benchmarked)."""

    rank: int | None
    offering: OfferingInfo
    model: ModelInfo
    provider: ProviderInfo
    stats: StatsInfo | None
    is_live: bool
    is_simulated: bool = False  # its numbers came from the loopback simulator

    @property
    def failure_shares(self) -> dict[str, tuple[int, float]]:
        return {name: (count, share) for name, count, share in self.failures}

    @property
    def failures(self) -> list[tuple[str, int, float]]:
        """(class, count, share of requests) for every failure class seen, in class order."""
        if self.stats is None or not self.stats.sample_count:
            return []
        seen = self.stats.failures
        order = FAILURE_CLASSES + sorted(set(seen) - set(FAILURE_CLASSES))
        return [
            (name, seen[name], seen[name] / self.stats.sample_count)
            for name in order
            if seen.get(name)
        ]


@dataclass(frozen=True)
class Record:
    """One model's votes against one opponent (on one challenge, or all of them)."""

    model: ModelInfo
    opponent: ModelInfo | None  # None when summed over every opponent
    challenge: ChallengeInfo | None
    wins: int
    losses: int
    ties: int
    both_bad: int

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties + self.both_bad

    @property
    def win_share(self) -> float | None:
        """Wins plus half the ties and both-bad votes, over all votes (the ratings' rule)."""
        if not self.votes:
            return None
        return (self.wins + 0.5 * (self.ties + self.both_bad)) / self.votes

    @property
    def win_pct(self) -> float:
        return self.wins / self.votes if self.votes else 0.0

    @property
    def loss_pct(self) -> float:
        return self.losses / self.votes if self.votes else 0.0


@dataclass(frozen=True)
class HeadToHead:
    """All of a model's votes against one opponent, with the per-challenge breakdown."""

    total: Record
    by_challenge: tuple[Record, ...] = field(default_factory=tuple)

    @property
    def top_challenges(self) -> tuple[Record, ...]:
        """The challenges with the most votes (the page shows these; the API has all)."""
        return self.by_challenge[:MATCHUP_CHALLENGES_SHOWN]

    @property
    def more_challenges(self) -> int:
        return max(0, len(self.by_challenge) - MATCHUP_CHALLENGES_SHOWN)


@dataclass(frozen=True)
class ChartView:
    """A chart's image URL with its text alternative (alt, caption, table rows)."""

    url: str
    title: str
    alt: str
    caption: str = ""
    landscape: Landscape | None = None

    @property
    def phone_url(self) -> str:
        """The same chart drawn for a phone's width (charts.PHONE)."""
        return self.url + ("&" if "?" in self.url else "?") + "size=phone"


# Shared rows ---------------------------------------------------------------------------


def cheapest_offering(
    model_slug: str, mode: str = ArenaMode.TEXT_TO_IMAGE, references: int = 1
) -> tuple[OfferingInfo, Decimal] | None:
    """The live offering with the lowest price in `mode` (ties: provider name).

    Text to image: a 1024×1024 request. Editing: the edit price, `references` 1 MP
    reference images billed with the 1024×1024 output (`edit_price_usd`), among the
    offerings that take reference images.
    """
    catalog = queries.catalog()
    offerings = catalog.offerings_of(model_slug)
    if mode == ArenaMode.EDIT:
        offerings = [o for o in offerings if o.max_reference_images > 0] or offerings
    priced = [(o, mode_price_usd(o, mode, references)) for o in offerings]
    priced = [(o, price) for o, price in priced if price is not None]
    if not priced:
        return None
    return min(priced, key=lambda item: (item[1], price_order(item[0], catalog)[1]))


def price_order(offering: OfferingInfo, catalog) -> tuple:
    """Cheapest first; equal prices by provider name, so every page names the same one."""
    return (offering.price_per_image_usd, catalog.providers[offering.provider_slug].name.casefold())


def mode_price_usd(offering: OfferingInfo, mode: str, references: int = 1) -> Decimal | None:
    """The offering's price per image in `mode`: see `cheapest_offering`."""
    if mode != ArenaMode.EDIT:
        return offering.price_per_image_usd
    try:
        return request_cost_usd(offering.pricing_rule, 1024, 1024, [(1024, 1024)] * references)
    except PricingError:
        return None


def edit_references(category_slug: str | None) -> int:
    """Reference images an edit price bills on a board: the most common number among the
    board's active edit challenges (ties: the larger), at least one."""
    counts = Counter(
        len(c.references)
        for c in queries.catalog().challenges.values()
        if c.mode == ArenaMode.EDIT
        and c.is_active
        and (category_slug is None or c.category_slug == category_slug)
    )
    if not counts:
        return 1
    return max(1, max(counts, key=lambda n: (counts[n], n)))


def fastest_offering(model_slug: str, mode: str | None = None) -> tuple[OfferingInfo, float] | None:
    """The live offering with the lowest p50 generation time (ms) among those with successes.

    With `mode`, the median of that mode's requests, for offerings with at least
    MODE_SPEED_MIN_SAMPLES of them; when none has as many, every request counts.
    """
    offerings = queries.catalog().offerings_of(model_slug)
    if mode is not None:
        speeds = queries.mode_speeds(mode)
        timed = [
            (speeds[o.id][0], o)
            for o in offerings
            if o.id in speeds and speeds[o.id][1] >= MODE_SPEED_MIN_SAMPLES
        ]
        if timed:
            best = min(timed, key=lambda item: (item[0], item[1].provider_slug))
            return best[1], best[0]
    stats = queries.offering_stats()
    timed = [
        (stats[o.id].generation_p50_ms, o)
        for o in offerings
        if o.id in stats and stats[o.id].generation_p50_ms is not None
    ]
    if not timed:
        return None
    best = min(timed, key=lambda item: (item[0], item[1].provider_slug))
    return best[1], best[0]


def board_rows(board: BoardInfo | None) -> list[BoardRow]:
    """Every model on a board: rated ones by rating, then the unrated, with prices and speed."""
    if board is None:
        return []
    catalog = queries.catalog()
    references = edit_references(board.category_slug)
    rows = []
    for rating in board.ratings:
        cheapest = cheapest_offering(rating.model_slug, board.mode, references)
        fastest = fastest_offering(rating.model_slug, board.mode)
        rows.append(
            BoardRow(
                model=catalog.models[rating.model_slug],
                rating=rating.rating,
                ci_low=rating.ci_low,
                ci_high=rating.ci_high,
                rank=rating.rank,
                rank_best=rating.rank_best,
                rank_worst=rating.rank_worst,
                votes=rating.votes,
                wins=rating.wins,
                losses=rating.losses,
                ties=rating.ties,
                both_bad=rating.both_bad,
                win_rate=rating.win_rate,
                is_provisional=rating.is_provisional,
                status=rating.status,
                price_per_image_usd=cheapest[1] if cheapest else None,
                cheapest_provider=catalog.providers[cheapest[0].provider_slug]
                if cheapest
                else None,
                fastest_p50_ms=fastest[1] if fastest else None,
                fastest_provider=catalog.providers[fastest[0].provider_slug] if fastest else None,
            )
        )
    return rows


def offering_rows(offerings: list[OfferingInfo]) -> list[OfferingRow]:
    """Offerings ranked by p50 generation time; those without a timing come last, unranked."""
    catalog = queries.catalog()
    stats = queries.offering_stats()
    simulated = queries.simulated_offering_ids()

    def speed(offering: OfferingInfo):
        p50 = stats[offering.id].generation_p50_ms if offering.id in stats else None
        return (p50 is None, p50 or 0.0, offering.provider_slug, offering.model_slug)

    rows, rank = [], 0
    for offering in sorted(offerings, key=speed):
        row_stats = stats.get(offering.id)
        has_timing = row_stats is not None and row_stats.generation_p50_ms is not None
        rank += has_timing
        rows.append(
            OfferingRow(
                rank=rank if has_timing else None,
                offering=offering,
                model=catalog.models[offering.model_slug],
                provider=catalog.providers[offering.provider_slug],
                stats=row_stats,
                is_live=catalog.is_live(offering),
                is_simulated=offering.id in simulated,
            )
        )
    return rows


def speed_sentence(row: OfferingRow | None) -> str | None:
    """ "Fastest generation through X at N ms median latency with S% success rate." """
    if row is None or row.stats is None:
        return None
    return fastest_sentence(
        {
            "provider_slug": row.provider.slug,
            "generation_p50_ms": row.stats.generation_p50_ms,
            "success_rate": row.stats.success_rate,
        }
    )


def records_of(model_slug: str, tallies: list[Tally]) -> list[Record]:
    """The model's per-(opponent, challenge) records from the vote tallies."""
    catalog = queries.catalog()
    records = []
    for tally in tallies:
        if model_slug not in (tally.model_x, tally.model_y):
            continue
        is_x = tally.model_x == model_slug
        opponent = tally.model_y if is_x else tally.model_x
        records.append(
            Record(
                model=catalog.models[model_slug],
                opponent=catalog.models[opponent],
                challenge=catalog.challenges.get(tally.challenge_slug)
                if tally.challenge_slug
                else None,
                wins=tally.x_wins if is_x else tally.y_wins,
                losses=tally.y_wins if is_x else tally.x_wins,
                ties=tally.ties,
                both_bad=tally.both_bad,
            )
        )
    return records


def combine(
    records: list[Record], *, challenge: ChallengeInfo | None = None, every_opponent=False
) -> Record:
    first = records[0]
    return Record(
        model=first.model,
        opponent=None if every_opponent else first.opponent,
        challenge=challenge,
        wins=sum(r.wins for r in records),
        losses=sum(r.losses for r in records),
        ties=sum(r.ties for r in records),
        both_bad=sum(r.both_bad for r in records),
    )


def head_to_heads(model_slug: str) -> list[HeadToHead]:
    """Head-to-head against each opponent (most votes first), split per challenge."""
    by_opponent: dict[str, list[Record]] = defaultdict(list)
    for record in records_of(model_slug, queries.vote_tallies()):
        by_opponent[record.opponent.slug].append(record)
    head_to_head = []
    for records in by_opponent.values():
        per_challenge: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            per_challenge[record.challenge.slug if record.challenge else ""].append(record)
        by_challenge = [
            combine(group, challenge=group[0].challenge) for group in per_challenge.values()
        ]
        by_challenge.sort(key=lambda r: (-r.votes, r.challenge.title if r.challenge else "~"))
        head_to_head.append(HeadToHead(total=combine(records), by_challenge=tuple(by_challenge)))
    head_to_head.sort(key=lambda m: (-m.total.votes, m.total.opponent.name))
    return head_to_head


def chart_url(name: str, params: dict | None = None, **kwargs) -> str:
    url = reverse(name, kwargs={"version": current_snapshot().version, **kwargs})
    params = {key: value for key, value in (params or {}).items() if value}
    return f"{url}?{urlencode(params)}" if params else url


def landscape_chart(
    landscape: Landscape, query: BoardQuery, *, highlight: ModelInfo | None = None
) -> ChartView:
    metric = METRICS[landscape.metric]
    mode_phrase = MODE_PHRASES[query.mode]
    title = f"{metric['title']}, {mode_phrase}"
    frontier = ", ".join(p.name for p in landscape.frontier) or "none"
    alt = (
        f"Scatter chart of rating against {metric['column'].lower()} for "
        f"{len(landscape.points)} {mode_phrase} models, each with its 95% interval. "
        f"Pareto frontier: {frontier}."
    )
    if highlight is not None:
        point = next((p for p in landscape.points if p.slug == highlight.slug), None)
        alt += f" {highlight.name} is highlighted" + (
            " and is on the frontier." if point and point.slug in landscape.frontier_slugs else "."
        )
    caption = f"Models on the Pareto frontier ({metric['better']} and better rated): {frontier}."
    if landscape.left_out:
        caption += (
            f" Not plotted (no {metric['column'].lower()} yet): {', '.join(landscape.left_out)}."
        )
    if landscape.metric == "cost" and query.mode == ArenaMode.EDIT:
        references = edit_references(query.category)
        caption += (
            f" Prices are edit prices: a 1024×1024 output with {references} reference "
            f"image{'s' if references != 1 else ''} of 1 MP billed."
        )
    params = {"mode": query.mode, "category": query.category, "window": query.window}
    if highlight is not None:
        params["highlight"] = highlight.slug
    return ChartView(
        url=chart_url("chart-landscape", params, metric=landscape.metric),
        title=title,
        alt=alt,
        caption=caption,
        landscape=landscape,
    )


def board_links(query: BoardQuery) -> dict:
    """URLs of this board's page, JSON and CSV."""
    params = urlencode(query.as_params())
    return {
        "page": f"{reverse('leaderboard')}?{params}",
        "json": f"{reverse('api-leaderboard')}?{params}",
        "csv": f"{reverse('api-leaderboard-csv')}?{params}",
    }


# Pages ---------------------------------------------------------------------------------


def leaderboard_context(query: BoardQuery) -> dict:
    catalog = queries.catalog()
    board = queries.boards().get(query.key)
    rows = board_rows(board)
    rated = [row for row in rows if row.rating is not None]
    landscapes = [landscape_chart(build_landscape(rated, metric), query) for metric in METRICS]
    category = catalog.categories.get(query.category) if query.category else None
    return {
        "query": query,
        "mode_label": MODE_LABELS[query.mode],
        "mode_phrase": MODE_PHRASES[query.mode],
        "window_label": WINDOW_LABELS[query.window],
        "category": category,
        "board": board,
        "rows": rated,
        "unrated": [row for row in rows if row.rating is None],
        "has_provisional": any(row.is_provisional for row in rated),
        "charts": landscapes if rated else [],
        "filters": _filters(query),
        "links": board_links(query),
        "export_url": reverse("export-votes", kwargs={"mode": query.mode}),
        "recompute": _recompute_commands(query, board),
        "has_demo": queries.has_demo_data(),
        "edit_references": edit_references(query.category),
    }


def _filters(query: BoardQuery) -> dict:
    catalog = queries.catalog()
    available = {key[:2] for key in queries.boards()}

    def link(**change) -> str:
        params = BoardQuery(**{**query.__dict__, **change}).as_params()
        return f"{reverse('leaderboard')}?{urlencode(params)}"

    return {
        "modes": [
            {
                "value": value,
                "label": label,
                "url": link(mode=value, category=None),
                "is_current": value == query.mode,
            }
            for value, label in ArenaMode.choices
        ],  # fmt: skip
        "categories": [
            {"value": c.slug, "label": c.name, "has_board": (query.mode, c.slug) in available}
            for c in catalog.categories.values()
        ],
        "windows": [
            {"value": value, "label": label, "is_current": value == query.window}
            for value, label in RatingWindow.choices
        ],
    }


def _recompute_commands(query: BoardQuery, board: BoardInfo | None) -> list[str]:
    bootstrap = board.bootstrap_rounds if board else 1000
    seed = board.seed if board else 0
    check = (
        f"python -m leaderboard.ratings votes-{query.mode}.csv "
        f"--bootstrap {bootstrap} --seed {seed}"
    )
    if query.category:
        check += f" --category {query.category}"
    return [
        f"python manage.py export_votes --mode {query.mode} -o votes-{query.mode}.csv",
        check,
        "python manage.py ratings    # refits and stores every leaderboard",
    ]


def home_context() -> dict:
    catalog = queries.catalog()
    all_boards = queries.boards()
    arenas = []
    for mode, label in ArenaMode.choices:
        query = BoardQuery(mode=mode)
        board = all_boards.get(query.key)
        rated = [row for row in board_rows(board) if row.rating is not None]
        arenas.append(
            {
                "mode": mode,
                "label": label,
                "phrase": MODE_PHRASES[mode],
                "board": board,
                "rows": rated[:HOME_BOARD_ROWS],
                "count": len(rated),
                "url": board_links(query)["page"],
                "charts": [
                    landscape_chart(build_landscape(rated, metric), query) for metric in METRICS
                ]
                if rated
                else [],
            }
        )
    live = [o for slug in catalog.models for o in catalog.offerings_of(slug)]
    fastest = [row for row in offering_rows(live) if row.rank is not None][:5]
    return {
        "arenas": arenas,
        "fastest": fastest,
        "models": catalog_rows(),
        "provider_count": _provider_count(live),
        "challenge_count": sum(1 for c in catalog.challenges.values() if c.is_active),
        "snapshot": current_snapshot(),
        "has_demo": queries.has_demo_data(),
    }


def _provider_count(live: list[OfferingInfo]) -> int:
    """Providers that serve a model today; the simulated one counts only when it is alone."""
    serving = {o.provider_slug for o in live}
    return len({slug for slug in serving if not is_simulated_provider(slug)}) or len(serving)


def catalog_rows() -> list[dict]:
    """Every model with its providers, cheapest price and overall rank in each arena."""
    catalog = queries.catalog()
    boards = queries.boards()
    ranks = {
        mode: {r.model_slug: r.rank for r in board.rated}
        if (board := boards.get((mode, "", RatingWindow.ALL_TIME)))
        else {}
        for mode in ArenaMode.values
    }
    return [
        {
            "model": model,
            "providers": [catalog.providers[o.provider_slug] for o in catalog.offerings_of(slug)],
            "cheapest": cheapest_offering(slug),
            "t2i_rank": ranks[ArenaMode.TEXT_TO_IMAGE].get(slug),
            "edit_rank": ranks[ArenaMode.EDIT].get(slug),
        }
        for slug, model in catalog.models.items()
    ]
