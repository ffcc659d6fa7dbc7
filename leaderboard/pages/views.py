"""Public pages, charts and the vote export. Each view checks its input, then serves the
page for the current snapshot from the cache (rendering it once per snapshot)."""

from __future__ import annotations

import os
import tempfile
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from leaderboard.models import ArenaMode, Leaderboard
from leaderboard.pages import catalog_pages, chart_data, charts, model_page, presenters, queries
from leaderboard.pages.cache import cached, current_snapshot
from leaderboard.pages.http_cache import snapshot_validated
from leaderboard.pages.landscape import METRICS
from leaderboard.pages.params import BadQuery, board_query
from leaderboard.rating_refresh import write_votes_csv
from leaderboard.serving_boards import serving_context

CHART_MAX_AGE_S = 365 * 86400


def page_view(view):
    """GET only; a BadQuery becomes the error page with its status (400 or 404); answers
    carry validators and a public Cache-Control, and conditional requests get 304s."""

    @require_GET
    @wraps(view)
    @snapshot_validated
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadQuery as error:
            return render(request, "error.html", {"error": error}, status=error.status)

    return wrapper


def cached_page(template: str, build, *parts) -> HttpResponse:
    """The page rendered once per snapshot. Pages hold nothing per visitor, so the HTML
    is shared by everyone (rendered without the request: no CSRF token, no session)."""
    body = cached(f"page:{template}", lambda: render_to_string(template, build()).encode(), *parts)
    return HttpResponse(body)


def board_query_of(request):
    return board_query(request.GET, categories=queries.category_slugs())


@page_view
def home(request):
    return cached_page("home.html", presenters.home_context)


@page_view
def leaderboard(request):
    query = board_query_of(request)
    return cached_page(
        "leaderboard.html", lambda: presenters.leaderboard_context(query), *query.key
    )


@page_view
def models_index(request):
    return cached_page("models.html", catalog_pages.models_index_context)


@page_view
def model(request, slug):
    # The API examples name this site's own address, so the host is part of the key.
    api_base = request.build_absolute_uri("/openai/v1")
    return cached_page(
        "model.html",
        lambda: model_page.model_context(slug, api_base=api_base) | serving_context(slug),
        slug,
        api_base,
    )


@page_view
def providers_index(request):
    return cached_page("providers.html", catalog_pages.providers_index_context)


@page_view
def provider(request, slug):
    return cached_page("provider.html", lambda: catalog_pages.provider_context(slug), slug)


@page_view
def challenges_index(request):
    return cached_page("challenges.html", catalog_pages.challenges_index_context)


@page_view
def challenge(request, slug):
    return cached_page("challenge.html", lambda: catalog_pages.challenge_context(slug), slug)


@page_view
def data(request):
    return cached_page("data.html", dict)


@page_view
def methodology(request):
    return cached_page("methodology.html", catalog_pages.methodology_context)


# Charts --------------------------------------------------------------------------------


def svg_response(svg: bytes, version: str) -> HttpResponse:
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    # The version in the URL pins the data: a current one never changes, an old one might.
    is_current = version == current_snapshot().version
    response["Cache-Control"] = (
        f"public, max-age={CHART_MAX_AGE_S}, immutable" if is_current else "no-cache"
    )
    return response


def chart_size_of(request) -> charts.ChartSize:
    """The `size` query parameter of a chart URL: wide (default) or phone."""
    name = request.GET.get("size") or charts.WIDE.name
    if name not in charts.CHART_SIZES:
        raise BadQuery(
            f'size: "{name}" is not a chart size; use one of: {", ".join(charts.CHART_SIZES)}.',
            param="size",
        )
    return charts.CHART_SIZES[name]


@page_view
def landscape_chart(request, version, metric):
    if metric not in METRICS:
        raise BadQuery(f"There is no {metric!r} chart; use cost or speed.", status=404)
    query = board_query_of(request)
    highlight = request.GET.get("highlight") or None
    if highlight is not None and highlight not in queries.catalog().models:
        raise BadQuery(f"highlight: there is no model {highlight!r}.", param="highlight")
    size = chart_size_of(request)

    def draw():
        landscape, title = chart_data.landscape_for_chart(metric, query)
        return charts.landscape_svg(landscape, title=title, highlight=highlight, size=size).encode()

    svg = cached("chart-landscape", draw, metric, *query.key, highlight, size.name)
    return svg_response(svg, version)


@page_view
def model_history_chart(request, version, slug):
    model = _model(slug)
    size = chart_size_of(request)
    svg = cached(
        "chart-history",
        lambda: charts.history_svg(
            chart_data.history_series(slug), title=f"{model.name}: rating over time", size=size
        ).encode(),
        slug,
        size.name,
    )
    return svg_response(svg, version)


@page_view
def model_latency_chart(request, version, slug):
    model = _model(slug)
    size = chart_size_of(request)
    svg = cached(
        "chart-latency",
        lambda: charts.latency_cdf_svg(
            chart_data.latency_series(slug),
            title=f"{model.name}: generation time per provider",
            size=size,
        ).encode(),
        slug,
        size.name,
    )
    return svg_response(svg, version)


@page_view
def provider_success_chart(request, version, slug):
    provider = queries.catalog().providers.get(slug)
    if provider is None:
        raise BadQuery(f"There is no provider {slug!r}.", status=404)
    size = chart_size_of(request)
    svg = cached(
        "chart-success",
        lambda: charts.success_svg(
            chart_data.success_series(slug),
            title=f"{provider.name}: success rate per day",
            size=size,
        ).encode(),
        slug,
        size.name,
    )
    return svg_response(svg, version)


def _model(slug):
    model = queries.catalog().models.get(slug)
    if model is None:
        raise BadQuery(f"There is no model {slug!r}.", status=404)
    return model


# Exports and health --------------------------------------------------------------------


@require_GET
def export_votes(request, mode):
    """The anonymized votes of one arena as CSV (the `export_votes` command's format),
    written once per snapshot to PAGES_EXPORT_DIR and streamed from there."""
    if mode not in ArenaMode.values:
        raise Http404(f"No vote export for {mode!r}; use t2i or edit.")
    response = FileResponse(
        _open_export(mode, current_snapshot().version),  # FileResponse closes it
        as_attachment=True,
        filename=f"pairwise-votes-{mode}.csv",
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    return response


def _open_export(mode: str, version: str):
    """The export of ``version``, opened for reading: written first if it is missing.

    The file is opened exactly once and streamed from that handle, never looked up
    again: another worker publishing a newer snapshot may replace or delete the path
    at any moment (os.replace / unlink), and an open handle outlives both.
    """
    directory = Path(settings.PAGES_EXPORT_DIR)
    path = directory / f"votes-{mode}-{version}.csv"
    try:
        return open(path, "rb")  # noqa: SIM115 (the caller's FileResponse closes it)
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    # Write aside, open, then rename: a concurrent download never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".votes-{mode}-", suffix=".csv")
    export = None
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            write_votes_csv(stream, mode=mode, until=_fitted_until(mode))
        export = open(temporary, "rb")  # noqa: SIM115
        os.replace(temporary, path)
    except BaseException:
        if export is not None:
            export.close()
        Path(temporary).unlink(missing_ok=True)
        raise
    for old in directory.glob(f"votes-{mode}-*.csv"):
        if old != path:
            old.unlink(missing_ok=True)
    return export


def _fitted_until(mode: str):
    """The moment the current boards were fitted: the export then matches them exactly."""
    return (
        Leaderboard.objects.filter(mode=mode, is_current=True)
        .values_list("computed_at", flat=True)
        .first()
    )


def healthz(request):
    return JsonResponse({"ok": True})
