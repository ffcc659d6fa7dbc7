"""The serving arena's pages and JSON twins, on the model arena's machinery: the same
voter identity, proof of work, rate limits, error pages, image URLs and page script."""

from __future__ import annotations

import dataclasses

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leaderboard.arena import serving
from leaderboard.arena.errors import InvalidVote, RateLimited
from leaderboard.arena.forms import VoteForm
from leaderboard.arena.pool import catalog_for
from leaderboard.arena.presenters import (
    SLOTS,
    Reveal,
    RevealedSlot,
    as_json,
    blind_matchup,
)
from leaderboard.arena.ratelimit import check_rate, over_limits
from leaderboard.arena.views import _require_proof, arena_view, wants_json
from leaderboard.arena.voters import remember_voter, voter_for
from leaderboard.models import Matchup, ServingBoard, ServingVote, VoteOutcome


def _blind(matchup: Matchup):
    """The model arena's blind matchup (opaque image URLs), voting in this arena."""
    blind = blind_matchup(matchup, catalog_for(matchup.mode, matchup.challenge_id))
    vote_url = reverse("arena:serving-vote", kwargs={"code": matchup.code})
    return dataclasses.replace(blind, vote_url=vote_url)


def _serve(voter):
    check_rate("serve", voter=voter.id, ip_hash=voter.ip_hash)
    matchup = serving.serve_serving_matchup(voter=voter.id, ip_hash=voter.ip_hash)
    return None if matchup is None else _blind(matchup)


def _board_places(model_id: int) -> dict[str, str]:
    board = ServingBoard.objects.filter(image_model_id=model_id).first()
    if board is None:
        return {}
    n = len(board.offerings)
    return {
        row["offering"]: f"#{k} of {n} providers on this model's serving board"
        for k, row in enumerate(board.offerings, start=1)
    }


def serving_reveal(matchup: Matchup, vote: ServingVote) -> Reveal:
    """Which provider served which image, after the vote."""
    blind = _blind(matchup)
    infos = serving.offering_infos((vote.offering_a_id, vote.offering_b_id))
    places = _board_places(vote.image_model_id)
    winners = {"a": {"a"}, "b": {"b"}, "tie": {"a", "b"}}.get(vote.outcome, set())
    slots = []
    for (key, label), blind_slot, offering_id in zip(
        SLOTS, blind.slots, (vote.offering_a_id, vote.offering_b_id), strict=True
    ):
        info = infos[offering_id]
        slots.append(
            RevealedSlot(
                key=key,
                label=label,
                image_url=blind_slot.image_url,
                width=blind_slot.width,
                height=blind_slot.height,
                model=info.model,
                vendor=info.vendor,
                provider=info.provider,
                is_winner=key in winners,
                position=places.get(info.key, "Not on a serving board yet"),
            )
        )
    a, b = slots
    verdict = {
        VoteOutcome.A: f"You preferred A: {a.model} served by {a.provider}, over {b.provider}.",
        VoteOutcome.B: f"You preferred B: {b.model} served by {b.provider}, over {a.provider}.",
        VoteOutcome.TIE: f"You called it a tie: {a.model} by {a.provider} and by {b.provider}.",
    }.get(vote.outcome, f"You found both bad: {a.model} by {a.provider} and by {b.provider}.")
    return Reveal(
        code=matchup.code,
        mode=blind.mode,
        prompt=blind.prompt,
        title=blind.title,
        category=blind.category,
        outcome=vote.outcome,
        verdict=verdict,
        slots=tuple(slots),
        references=blind.references,
    )


@require_GET
@arena_view
def serving_page(request):
    voter = voter_for(request)
    catalog = serving.serving_catalog()
    matchup = _serve(voter)
    response = render(
        request,
        "arena/serving.html",
        {
            "matchup": matchup,
            "has_pool": bool(catalog.groups),
            "is_demo": serving.has_demo_data(),
            "next_api_url": reverse("arena:serving-next"),
            "next_page_url": reverse("arena:serving"),
            "needs_proof": not voter.is_proven,
        },
    )
    return remember_voter(response, voter)


@require_GET
@arena_view
def serving_next(request):
    voter = voter_for(request)
    return remember_voter(JsonResponse({"matchup": as_json(_serve(voter))}), voter)


@require_POST
@arena_view
def serving_vote(request, code):
    """A form POST is redirected to the reveal; fetch() gets the reveal and the next
    blind matchup as JSON (the model arena's page script drives both arenas)."""
    voter = voter_for(request)
    form = VoteForm(request.POST)
    if not form.is_valid():
        raise InvalidVote()
    outcome = form.cleaned_data["outcome"]
    over = over_limits(("vote",), voter=voter.id, ip_hash=voter.ip_hash)
    if over:
        raise RateLimited(retry_after_s=over["vote"])
    matchup = serving.get_open_serving_matchup(code, voter.id)
    _require_proof(voter)
    vote = serving.record_serving_vote(matchup, outcome, voter=voter.id)
    if not wants_json(request):
        response = redirect(reverse("arena:serving-reveal", kwargs={"code": code}))
        response.status_code = 303
        return response
    try:
        upcoming = _serve(voter)
    except RateLimited:
        upcoming = None  # the script asks again later
    return JsonResponse(
        {
            "recorded": True,
            "reveal": as_json(serving_reveal(matchup, vote)),
            "next": as_json(upcoming),
        }
    )


@require_GET
@arena_view
def serving_reveal_page(request, code):
    voter = voter_for(request)
    matchup = serving.get_voted_serving_matchup(code, voter.id)
    return render(
        request,
        "arena/serving_reveal.html",
        {
            "reveal": serving_reveal(matchup, matchup.serving_vote),
            "is_demo": serving.has_demo_data(),
            "next_page_url": reverse("arena:serving"),
        },
    )
