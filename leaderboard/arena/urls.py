from django.urls import path

from leaderboard.arena import personal_views, serving_views, views
from leaderboard.models import ArenaMode

# Matchup codes are validated by services.get_open_matchup, so a forged one gets the
# arena's own 404 rather than the resolver's.
app_name = "arena"
urlpatterns = [
    path("", views.arena_page, {"mode": ArenaMode.TEXT_TO_IMAGE}, name="t2i"),
    path("edit/", views.arena_page, {"mode": ArenaMode.EDIT}, name="edit"),
    path("next", views.next_matchup, name="next"),
    path("challenge", views.challenge, name="challenge"),
    path("identity", views.identity, name="identity"),
    path("vote/<str:code>", views.vote, name="vote"),
    path("reveal/<str:code>", views.reveal_page, name="reveal"),
    path("image/<str:code>/<slug:image>", views.image, name="image"),
    path("me/", personal_views.my_board, name="me"),
    path("me/votes.csv", personal_views.my_votes_csv, name="my-votes"),
    path("serving/", serving_views.serving_page, name="serving"),
    path("serving/next", serving_views.serving_next, name="serving-next"),
    path("serving/vote/<str:code>", serving_views.serving_vote, name="serving-vote"),
    path("serving/reveal/<str:code>", serving_views.serving_reveal_page, name="serving-reveal"),
]
