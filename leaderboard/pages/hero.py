"""The model page's hero: the showcase image of the challenge the model wins most, with
its prompt, the way the reference page opens with a prompt and its output."""

from __future__ import annotations

from collections import defaultdict

from leaderboard.pages import queries
from leaderboard.pages.presenters import combine, records_of

# A challenge needs this many votes with the model before its win share picks the hero.
HERO_MIN_VOTES = 5


def hero_of(model) -> dict | None:
    """The model's best-voted challenge that has a showcase image, with that image.

    "Best-voted": the highest win share (ties and both-bad as half) among the model's
    challenges with HERO_MIN_VOTES votes, then the most votes; without votes, the newest
    showcase image. Showcase images only (`publication.showcase_generations`): the arena
    never serves them, so the hero cannot unblind a matchup.
    """
    showcase = queries.model_showcase(model.slug)
    if not showcase:
        return None
    by_challenge = defaultdict(list)
    for record in records_of(model.slug, queries.vote_tallies()):
        if record.challenge is not None:
            by_challenge[record.challenge.slug].append(record)
    totals = {
        slug: combine(records, challenge=records[0].challenge, every_opponent=True)
        for slug, records in by_challenge.items()
    }
    shown = {g.challenge_slug for g in showcase}
    ranked = sorted(
        (r for slug, r in totals.items() if slug in shown and r.votes >= HERO_MIN_VOTES),
        key=lambda r: (-r.win_share, -r.votes, r.challenge.title),
    )
    record = ranked[0] if ranked else None
    if record is not None:
        generation = next(g for g in showcase if g.challenge_slug == record.challenge.slug)
    else:
        generation = showcase[0]
    catalog = queries.catalog()
    return {
        "generation": generation,
        "challenge": catalog.challenges[generation.challenge_slug],
        "provider": catalog.providers[catalog.offerings[generation.offering_id].provider_slug],
        "record": record,
    }
