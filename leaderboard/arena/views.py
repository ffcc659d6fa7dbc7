"""Arena pages and their JSON twins. Each view: identify the voter, check the rate
limit, call one service, render. The same vote URL answers a plain form POST with a
redirect and a fetch() (Accept: application/json) with the reveal as JSON."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leaderboard.arena import images, proof, services
from leaderboard.arena.errors import ArenaError, InvalidVote, ProofRequired, RateLimited
from leaderboard.arena.forms import VoteForm
from leaderboard.arena.pool import arena_catalog, catalog_for
from leaderboard.arena.presenters import as_json, blind_matchup, reveal
from leaderboard.arena.ratelimit import check_rate, over_limits
from leaderboard.arena.voters import remember_voter, voter_for
from leaderboard.models import ArenaMode


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def arena_url(mode: str, category: str | None = None) -> str:
    url = reverse("arena:edit" if mode == ArenaMode.EDIT else "arena:t2i")
    return f"{url}?{urlencode({'category': category})}" if category else url


def next_api_url(mode: str, category: str | None) -> str:
    return f"{reverse('arena:next')}?{urlencode({'mode': mode, 'category': category or ''})}"


def arena_view(view):
    """Turn ArenaErrors into a friendly page, or JSON for fetch(), with their status."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ArenaError as error:
            if wants_json(request):
                response = JsonResponse(
                    {"error": error.code, "title": error.title, "message": error.message},
                    status=error.status,
                )
            else:
                response = render(
                    request,
                    "arena/error.html",
                    {
                        "error": error,
                        "arena_url": arena_url(kwargs.get("mode", ArenaMode.TEXT_TO_IMAGE)),
                    },
                    status=error.status,
                )
            if hasattr(error, "retry_after_s"):
                response["Retry-After"] = str(error.retry_after_s)
            return response

    return wrapper


def _serve(voter, mode, category):
    """A new blind matchup for the voter (None when the arena has nothing to show)."""
    check_rate("serve", voter=voter.id, ip_hash=voter.ip_hash)
    matchup = services.serve_matchup(
        voter=voter.id, mode=mode, category=category, ip_hash=voter.ip_hash
    )
    if matchup is None:
        return None
    return blind_matchup(matchup, catalog_for(mode, matchup.challenge_id))


@require_GET
@arena_view
def arena_page(request, mode):
    voter = voter_for(request)
    catalog = arena_catalog(mode)
    categories = catalog.categories()
    category = request.GET.get("category") or None
    is_known_category = category is None or category in dict(categories)
    matchup = _serve(voter, mode, category) if is_known_category else None
    response = render(
        request,
        "arena/vote.html",
        {
            "mode": mode,
            "mode_label": ArenaMode(mode).label,
            "matchup": matchup,
            "categories": categories,
            "category": category,
            "is_known_category": is_known_category,
            # Images exist, but none this voter has not been shown lately.
            "is_used_up": matchup is None
            and bool(is_known_category and catalog.table(category).pairs),
            "is_demo": catalog.has_demo_data,
            "next_api_url": next_api_url(mode, category),
            "next_page_url": arena_url(mode, category),
            "needs_proof": not voter.is_proven,
        },
    )
    return remember_voter(response, voter)


@require_GET
@arena_view
def next_matchup(request):
    mode = request.GET.get("mode", ArenaMode.TEXT_TO_IMAGE)
    if mode not in ArenaMode.values:
        raise Http404("unknown arena")
    voter = voter_for(request)
    matchup = _serve(voter, mode, request.GET.get("category") or None)
    return remember_voter(JsonResponse({"matchup": as_json(matchup)}), voter)


@require_POST
@arena_view
def vote(request, code):
    """Record a vote. A form POST is redirected to the reveal; a fetch() gets the reveal
    and the next blind matchup as JSON, so the page can load its images meanwhile."""
    voter = voter_for(request)
    form = VoteForm(request.POST)
    if not form.is_valid():
        raise InvalidVote()
    outcome, category = form.cleaned_data["outcome"], form.cleaned_data["category"] or None
    if wants_json(request):
        return _vote_and_continue(voter, code, outcome, category)
    check_rate("vote", voter=voter.id, ip_hash=voter.ip_hash)
    matchup = services.get_open_matchup(code, voter.id)
    _require_proof(voter)
    services.record_vote(matchup, outcome, voter=voter.id)
    url = reverse("arena:reveal", kwargs={"code": code})
    response = redirect(f"{url}?{urlencode({'category': category})}" if category else url)
    response.status_code = 303  # See Other: the reveal is fetched with GET
    return response


def _require_proof(voter) -> None:
    """A vote counts only from an identity that paid its proof of work (checked after
    the matchup, so foreign or forged codes still get their 404)."""
    if not voter.is_proven:
        raise ProofRequired()


@require_GET
@arena_view
def challenge(request):
    """A proof-of-work challenge for the visitor's new identity (null once proven)."""
    voter = voter_for(request)
    data = None if voter.is_proven else proof.new_challenge(voter)
    response = JsonResponse({"challenge": data})
    response["Cache-Control"] = "no-store"
    return remember_voter(response, voter)


@require_POST
@arena_view
def identity(request):
    """Accept a solved challenge: the visitor's identity may vote from now on."""
    voter = proof.prove_identity(voter_for(request), request.POST.get("altcha", ""))
    return remember_voter(JsonResponse({"proven": True}), voter)


def _vote_and_continue(voter, code, outcome, category) -> JsonResponse:
    """The script's path: the reveal and the next blind matchup in one answer (no next
    matchup when serving is over its rate limit; the script then asks again later)."""
    over = over_limits(("vote", "serve"), voter=voter.id, ip_hash=voter.ip_hash)
    if "vote" in over:
        raise RateLimited(retry_after_s=over["vote"])
    matchup = services.get_open_matchup(code, voter.id)
    _require_proof(voter)
    if "serve" in over:
        vote, upcoming = services.record_vote(matchup, outcome, voter=voter.id), None
    else:
        vote, upcoming = services.record_vote_and_serve_next(
            matchup, outcome, voter=voter.id, category=category, ip_hash=voter.ip_hash
        )
    catalog = catalog_for(matchup.mode, matchup.challenge_id)
    return JsonResponse(
        {
            "recorded": True,
            "reveal": as_json(reveal(matchup, vote, catalog)),
            "next": as_json(upcoming and blind_matchup(upcoming, catalog)),
        }
    )


@require_GET
@arena_view
def reveal_page(request, code):
    voter = voter_for(request)
    matchup = services.get_voted_matchup(code, voter.id)
    mode = matchup.mode
    catalog = catalog_for(mode, matchup.challenge_id)
    category = request.GET.get("category") or None
    return render(
        request,
        "arena/reveal.html",
        {
            "mode": mode,
            "mode_label": ArenaMode(mode).label,
            "reveal": reveal(matchup, matchup.vote, catalog),
            "categories": catalog.categories(),
            "category": category,
            "is_demo": catalog.has_demo_data,
            "next_page_url": arena_url(mode, category),
        },
    )


@require_GET
@arena_view
def image(request, code, image):
    """One image of a matchup, as the same-size, same-length, metadata-free JPEG."""
    voter = voter_for(request)
    matchup = services.get_open_matchup(code, voter.id, allow_voted=True, kind=None)
    catalog = catalog_for(matchup.mode, matchup.challenge_id)
    image_id = {"a": str(matchup.generation_a_id), "b": str(matchup.generation_b_id)}.get(image)
    if image_id is None and image in catalog.challenges[matchup.challenge_id].reference_ids:
        image_id = image
    image_set = catalog.image_sets[matchup.challenge_id]
    if image_id is None:
        raise Http404("no such image")
    if not any(g.id == image_id for g in image_set.generations) and image_id.isdigit():
        # A generation newer than this worker's catalog: look again once.
        refreshed = arena_catalog(matchup.mode, refresh=True)
        image_set = refreshed.image_sets[matchup.challenge_id]
    data = images.prepared_bytes(image_set, image_id)
    if data is None:
        raise Http404("image unavailable")
    response = HttpResponse(data, content_type="image/jpeg")
    # Per-matchup URL, so the browser may keep it; never shared caches.
    response["Cache-Control"] = "private, max-age=3600"
    return response
