"""What pages and the JSON API may show about a matchup: the blindness contract.

Before a vote, templates and JSON get a `BlindMatchup`: the prompt, slot labels and
opaque per-matchup image URLs. It is built from the catalog's challenge info and the
matchup code only, never from the generations, so no model, vendor or provider can
reach the page by accident. After the vote, `Reveal` names them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

from django.urls import get_script_prefix, reverse

from leaderboard.arena.pool import ArenaCatalog, Position
from leaderboard.models import ArenaMode, Matchup, Vote, VoteOutcome

SLOTS = (("a", "A"), ("b", "B"))


def as_json(value):
    """A presenter dataclass as plain JSON data (shallow and quick: no deep copies)."""
    if isinstance(value, tuple):
        return [as_json(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: as_json(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True)
class BlindSlot:
    key: str
    label: str
    image_url: str
    width: int
    height: int


@dataclass(frozen=True)
class BlindReference:
    image_url: str
    alt: str


@dataclass(frozen=True)
class BlindMatchup:
    code: str
    mode: str
    title: str
    prompt: str
    category: str
    slots: tuple[BlindSlot, ...]
    references: tuple[BlindReference, ...]
    vote_url: str


@lru_cache(maxsize=8)
def _url_prefixes(script_prefix: str) -> tuple[str, str]:
    # reverse() is slow next to everything else a vote does, and these two routes are
    # "<prefix><code>" and "<prefix><code>/<image>": reverse them once per process.
    vote = reverse("arena:vote", kwargs={"code": "c"})
    image = reverse("arena:image", kwargs={"code": "c", "image": "a"})
    return vote[: -len("c")], image[: -len("c/a")]


def vote_url(code: str) -> str:
    return f"{_url_prefixes(get_script_prefix())[0]}{code}"


def image_url(code: str, image: str) -> str:
    return f"{_url_prefixes(get_script_prefix())[1]}{code}/{image}"


def blind_matchup(matchup: Matchup, catalog: ArenaCatalog) -> BlindMatchup:
    challenge = catalog.challenges[matchup.challenge_id]
    width, height = catalog.image_sets[challenge.id].size
    return BlindMatchup(
        code=matchup.code,
        mode=challenge.mode,
        title=challenge.title,
        prompt=challenge.prompt,
        category=challenge.category_name,
        slots=tuple(
            BlindSlot(key, label, image_url(matchup.code, key), width, height)
            for key, label in SLOTS
        ),
        references=tuple(
            BlindReference(image_url(matchup.code, ref_id), f"Reference image {n}")
            for n, ref_id in enumerate(challenge.reference_ids, start=1)
        ),
        vote_url=vote_url(matchup.code),
    )


@dataclass(frozen=True)
class RevealedSlot:
    key: str
    label: str
    image_url: str
    width: int
    height: int
    model: str
    vendor: str
    provider: str
    is_winner: bool
    position: str


@dataclass(frozen=True)
class Reveal:
    code: str
    mode: str
    prompt: str
    title: str
    category: str
    outcome: str
    verdict: str
    slots: tuple[RevealedSlot, ...]
    references: tuple[BlindReference, ...]


def position_text(position: Position | None, mode: str) -> str:
    arena = ArenaMode(mode).label.lower()
    if position is None or position.rank is None:
        return f"Not ranked yet in {arena}"
    return f"#{position.rank} of {position.of} in {arena}"


def reveal(matchup: Matchup, vote: Vote, catalog: ArenaCatalog) -> Reveal:
    """Who made which image, the winner, and both models' current leaderboard places."""
    blind = blind_matchup(matchup, catalog)
    winners = {"a": {"a"}, "b": {"b"}, "tie": {"a", "b"}}.get(vote.outcome, set())
    slots = []
    for slot, generation_id in zip(
        blind.slots, (matchup.generation_a_id, matchup.generation_b_id), strict=True
    ):
        contestant = catalog.contestant(generation_id)
        slots.append(
            RevealedSlot(
                key=slot.key,
                label=slot.label,
                image_url=slot.image_url,
                width=slot.width,
                height=slot.height,
                model=contestant.model,
                vendor=contestant.vendor,
                provider=contestant.provider,
                is_winner=slot.key in winners,
                position=position_text(catalog.positions.get(contestant.model_id), blind.mode),
            )
        )
    return Reveal(
        code=matchup.code,
        mode=blind.mode,
        prompt=blind.prompt,
        title=blind.title,
        category=blind.category,
        outcome=vote.outcome,
        verdict=_verdict(vote.outcome, slots),
        slots=tuple(slots),
        references=blind.references,
    )


def _verdict(outcome: str, slots: list[RevealedSlot]) -> str:
    a, b = slots
    if outcome == VoteOutcome.A:
        return f"You preferred A: {a.model}."
    if outcome == VoteOutcome.B:
        return f"You preferred B: {b.model}."
    if outcome == VoteOutcome.TIE:
        return f"You called it a tie between {a.model} and {b.model}."
    return f"You found both bad: {a.model} and {b.model}."
