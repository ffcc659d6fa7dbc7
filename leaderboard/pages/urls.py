from django.urls import path, register_converter

from leaderboard import openapi
from leaderboard.pages import api, serving_api, views


class SlugWithDots:
    """Model slugs carry dots ("flux.2-pro"), which Django's slug converter refuses."""

    regex = r"[-a-zA-Z0-9_.]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(SlugWithDots, "dotslug")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("models/", views.models_index, name="models"),
    path("models/<dotslug:slug>/", views.model, name="model"),
    path("providers/", views.providers_index, name="providers"),
    path("providers/<dotslug:slug>/", views.provider, name="provider"),
    path("challenges/", views.challenges_index, name="challenges"),
    path("challenges/<dotslug:slug>/", views.challenge, name="challenge"),
    path("data/", views.data, name="data"),
    path("methodology/", views.methodology, name="methodology"),
    # Charts carry the snapshot version so a browser may keep them for good.
    path(
        "charts/<str:version>/landscape/<str:metric>.svg",
        views.landscape_chart,
        name="chart-landscape",
    ),
    path(
        "charts/<str:version>/models/<dotslug:slug>/history.svg",
        views.model_history_chart,
        name="chart-model-history",
    ),
    path(
        "charts/<str:version>/models/<dotslug:slug>/latency.svg",
        views.model_latency_chart,
        name="chart-model-latency",
    ),
    path(
        "charts/<str:version>/providers/<dotslug:slug>/success.svg",
        views.provider_success_chart,
        name="chart-provider-success",
    ),
    path("exports/votes-<str:mode>.csv", views.export_votes, name="export-votes"),
    # The data API. The CSV twins come first: "<slug>.csv" would otherwise be a slug.
    path("api/openapi.json", openapi.data_api_openapi, name="api-openapi"),
    path("api/leaderboard", api.leaderboard_json, name="api-leaderboard"),
    path("api/leaderboard.csv", api.leaderboard_csv, name="api-leaderboard-csv"),
    path("api/models/<dotslug:slug>.csv", api.model_csv, name="api-model-csv"),
    path("api/models/<dotslug:slug>", api.model_json, name="api-model"),
    path("api/serving/<dotslug:slug>.csv", serving_api.serving_csv, name="api-serving-csv"),
    path("api/serving/<dotslug:slug>", serving_api.serving_json, name="api-serving"),
    path("api/providers/stats", api.provider_stats_json, name="api-provider-stats"),
    path("api/providers/stats.csv", api.provider_stats_csv, name="api-provider-stats-csv"),
]
