"""The public site: home, leaderboards, model, provider and challenge pages, charts,
the data API and the vote exports.

Views (`views.py`, `api.py`) are thin: they check parameters (`params.py`) and serve
what the presenters build. Presenters: `presenters.py` (home, leaderboards and the
rows the others share), `model_page.py`, `catalog_pages.py` (the indexes, provider
and challenge pages). They read the datasets of `queries.py`, which re-exports the
read models by concept (`catalog_queries`, `board_queries`, `stats_queries`,
`gallery_queries`), each cached per ratings/stats snapshot (`cache.py`). Charts are
matplotlib SVG (`charts.py`) of the series in `chart_data.py` and the points in
`landscape.py`. `python -m tests.benchmarks.page_speed` measures the speed.
"""
