"""The votes read model of the public pages: current leaderboards with their ratings,
per-pair vote tallies, and whether demo data is on show, cached per snapshot (see `queries`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leaderboard.arena.pool import SIMULATED_PROVIDER
from leaderboard.models import (
    BenchRun,
    BenchSample,
    Leaderboard,
    Offering,
    OfferingStats,
    PairTally,
    Rating,
    Vote,
)
from leaderboard.pages.cache import cached, current_snapshot
from leaderboard.pages.catalog_queries import catalog


@dataclass(frozen=True)
class RatingInfo:
    model_slug: str
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
    elo_history: tuple = ()

    @property
    def is_rated(self) -> bool:
        return self.rating is not None


@dataclass(frozen=True)
class BoardInfo:
    """One current leaderboard with its ratings, rated ones first by rating."""

    mode: str
    category_slug: str | None
    window: str
    computed_at: datetime
    vote_count: int
    excluded_vote_count: int
    bootstrap_rounds: int
    seed: int
    notes: tuple[str, ...]
    ratings: tuple[RatingInfo, ...]

    @property
    def rated(self) -> list[RatingInfo]:
        return [r for r in self.ratings if r.is_rated]

    @property
    def unrated(self) -> list[RatingInfo]:
        return [r for r in self.ratings if not r.is_rated]

    def rating_of(self, model_slug: str) -> RatingInfo | None:
        return next((r for r in self.ratings if r.model_slug == model_slug), None)


@dataclass(frozen=True)
class Tally:
    """Non-excluded votes between two models on one challenge (x < y by slug)."""

    mode: str
    challenge_slug: str | None
    model_x: str
    model_y: str
    x_wins: int = 0
    y_wins: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def votes(self) -> int:
        return self.x_wins + self.y_wins + self.ties + self.both_bad


TALLY_COUNTS = ("low_wins", "high_wins", "ties", "both_bad")


def boards() -> dict[tuple[str, str, str], BoardInfo]:
    """Current leaderboards by (mode, category slug or "", window)."""
    return cached("boards", _load_boards)


def vote_tallies() -> list[Tally]:
    """Vote counts per (mode, challenge, model pair) up to the ratings' computation time."""
    return cached("vote-tallies", _load_vote_tallies)


def has_demo_data() -> bool:
    """Whether any simulated data exist: demo votes, a run the simulator answered, or
    the simulated provider's stats. Every page then carries the demo notice."""
    return cached("has-demo", _load_has_demo)


def simulated_offering_ids() -> frozenset[int]:
    """Offerings whose samples came from the simulator (provider rows say "simulated")."""
    return cached("simulated-offerings", _load_simulated_offering_ids)


def _load_boards() -> dict[tuple[str, str, str], BoardInfo]:
    leaderboards = list(Leaderboard.objects.filter(is_current=True).select_related("category"))
    ratings: dict[int, list[Rating]] = {}
    for rating in Rating.objects.filter(leaderboard__in=leaderboards).select_related("image_model"):
        ratings.setdefault(rating.leaderboard_id, []).append(rating)
    result = {}
    for board in leaderboards:
        rows = sorted(
            ratings.get(board.id, []),
            key=lambda r: (r.rating is None, -(r.rating or 0.0), r.image_model.slug),
        )
        info = BoardInfo(
            mode=board.mode,
            category_slug=board.category.slug if board.category_id else None,
            window=board.window,
            computed_at=board.computed_at,
            vote_count=board.vote_count,
            excluded_vote_count=board.excluded_vote_count,
            bootstrap_rounds=board.bootstrap_rounds,
            seed=board.seed,
            notes=tuple(board.notes or ()),
            ratings=tuple(
                RatingInfo(
                    model_slug=r.image_model.slug,
                    rating=r.rating,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    rank=r.rank,
                    rank_best=r.rank_best,
                    rank_worst=r.rank_worst,
                    votes=r.votes,
                    wins=r.wins,
                    losses=r.losses,
                    ties=r.ties,
                    both_bad=r.both_bad,
                    win_rate=r.win_rate,
                    is_provisional=r.is_provisional,
                    status=r.status,
                    elo_history=tuple(tuple(point) for point in (r.elo_history or ())),
                )
                for r in rows
            ),
        )
        key = (info.mode, info.category_slug or "", info.window)
        # Two current boards for one key only happen mid-refresh; the newest wins.
        if key not in result or result[key].computed_at < info.computed_at:
            result[key] = info
    return result


def _load_vote_tallies() -> list[Tally]:
    """The head-to-head counts the current ratings' refresh stored (see vote_counts)."""
    ratings_at = current_snapshot().ratings_at
    if ratings_at is None:
        return []
    rows = PairTally.objects.filter(computed_at=ratings_at).values_list(
        "mode", "challenge_id", "model_low_id", "model_high_id", *TALLY_COUNTS
    )
    names = catalog()
    tallies = []
    for mode, challenge_id, low_id, high_id, low_wins, high_wins, ties, both_bad in rows:
        low, high = names.model_slugs_by_id[low_id], names.model_slugs_by_id[high_id]
        x_wins, y_wins = (low_wins, high_wins) if low < high else (high_wins, low_wins)
        challenge = names.challenge_slugs_by_id.get(challenge_id) if challenge_id else None
        tallies.append(Tally(mode, challenge, *sorted((low, high)), x_wins, y_wins, ties, both_bad))
    return sorted(tallies, key=lambda t: (t.mode, str(t.challenge_slug), t.model_x, t.model_y))


def _load_has_demo() -> bool:
    return (
        Vote.objects.filter(is_demo=True).exists()
        or BenchRun.objects.filter(is_simulated=True).exists()
        or OfferingStats.objects.filter(
            is_current=True, offering__provider__slug=SIMULATED_PROVIDER
        ).exists()
    )


def _load_simulated_offering_ids() -> frozenset[int]:
    runs = list(BenchRun.objects.filter(is_simulated=True).values_list("id", flat=True))
    answered = BenchSample.objects.filter(run_id__in=runs).values_list("offering_id", flat=True)
    own = Offering.objects.filter(provider__slug=SIMULATED_PROVIDER).values_list("id", flat=True)
    return frozenset(answered.distinct()) | frozenset(own)
