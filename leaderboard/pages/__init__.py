"""The public site: home, leaderboards, model, provider and challenge pages, charts,
the data API and the vote exports.

Views (`views.py`, `api.py`) are thin: they check parameters (`params.py`) and serve
what `presenters.py` / `model_page.py` build from the datasets in `queries.py`, cached
per ratings/stats snapshot (`cache.py`). Charts are matplotlib SVG (`charts.py`) of the
points in `landscape.py`. `python -m leaderboard.pages.benchmark` measures the speed.
"""
