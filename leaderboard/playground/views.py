"""The playground page and the one call its script makes per image."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from leaderboard.arena.errors import ArenaError
from leaderboard.arena.ratelimit import check_rate
from leaderboard.arena.voters import remember_voter, voter_for
from leaderboard.playground import services
from leaderboard.playground.services import PlaygroundError


@require_GET
def playground_page(request):
    voter = voter_for(request)
    response = render(
        request,
        "playground/playground.html",
        {
            "models": services.choices(),
            "max_targets": services.MAX_TARGETS,
            "needs_proof": not voter.is_proven,
            "size": services.PLAYGROUND_SIZE,
        },
    )
    return remember_voter(response, voter)


@require_POST
def run(request):
    """One image for one target: JSON {prompt, target} in, the image and its figures out."""
    voter = voter_for(request)
    try:
        data = json.loads(request.body or b"{}")
        prompt, target = str(data.get("prompt", "")), str(data.get("target", ""))
    except (ValueError, TypeError, AttributeError):
        return _error('Send JSON: {"prompt": ..., "target": ...}.', 400)
    try:
        services.check_request(prompt, [target] if target else [])
        if not voter.is_proven:
            return _error("Solve the browser check first (it runs when the page loads).", 403)
        check_rate("serve", voter=voter.id, ip_hash=voter.ip_hash)
        image = services.run_target(
            prompt,
            target,
            voter=voter.id,
            ip_hash=voter.ip_hash,
            absolute_url=request.build_absolute_uri,
        )
    except PlaygroundError as error:
        return _error(error.message, error.status)
    except ArenaError as error:
        response = _error(error.message, error.status)
        if hasattr(error, "retry_after_s"):
            response["Retry-After"] = str(error.retry_after_s)
        return response
    return remember_voter(JsonResponse({"image": asdict(image)}), voter)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)
