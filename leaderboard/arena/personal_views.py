"""The voter's own page: their leaderboard beside the public one, and their votes."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leaderboard.arena.personal import PERSONAL_MIN_VOTES, personal_boards, votes_csv
from leaderboard.arena.views import arena_view
from leaderboard.arena.voters import remember_voter, voter_for


@require_GET
@arena_view
def my_board(request):
    voter = voter_for(request)
    response = render(
        request,
        "arena/me.html",
        {"boards": personal_boards(voter.id), "min_votes": PERSONAL_MIN_VOTES},
    )
    response["Cache-Control"] = "private, no-store"
    return remember_voter(response, voter)


@require_GET
@arena_view
def my_votes_csv(request):
    voter = voter_for(request)
    response = HttpResponse(votes_csv(voter.id), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-votes.csv"'
    response["Cache-Control"] = "private, no-store"
    return remember_voter(response, voter)
