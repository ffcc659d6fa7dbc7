"""Per-offering benchmark statistics over a rolling window, and the per-model provider ranking.

``load_samples`` reads BenchSample rows (bench and gateway traffic alike) through
SQLAlchemy into a DataFrame; ``offering_stats``, ``model_rankings`` and
``summarize`` turn such a frame into plain dicts and lists, ready to be stored as a
snapshot or printed. Conventions, after llmperf and vLLM (docs/providers.md §6):

- ``skipped`` samples were never sent and are left out of everything;
- the success rate is successes / requests sent, with a Wilson score 95% interval;
- latency percentiles are over successful samples only, with one definition,
  ``percentile``: linear interpolation between closest ranks (Hyndman and Fan's
  type 7; numpy's, pandas' and ``statistics.quantiles(method="inclusive")``'s);
- cost per successful image is the mean priced cost of successful requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from bench.config import locations
from bench.providers.base import FAILURE_CLASSES, OK, SKIPPED
from bench.store import Store

DEFAULT_WINDOW_DAYS = 30
# One naming from the runner to the page: ``offering_stats`` returns these keys, the
# OfferingStats columns that store them have the same names, and so do the pages and
# the data API (/api/providers/stats).
STATS_COLUMNS = (
    "sample_count",
    "success_count",
    "success_rate",
    "success_ci_low",
    "success_ci_high",
    "generation_p50_ms",
    "generation_p95_ms",
    "generation_p99_ms",
    "ttfb_p50_ms",
    "submit_ttfb_p50_ms",
    "cost_per_success_usd",
    "failures",
    "poll_bracket_p50_ms",
)
Z_95 = 1.959963984540054
SAMPLE_COLUMNS = (
    "offering_id",
    "offering_key",
    "provider_slug",
    "provider_name",
    "model_slug",
    "model_name",
    "source",
    "started_at",
    "status",
    "ttfb_ms",
    "generation_ms",
    "submit_ttfb_ms",
    "cost_usd",
    "last_pending_ms",
    "first_ready_ms",
    "region",
)


def load_samples(
    database_url: str | None = None,
    *,
    window_days: float = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
    store: Store | None = None,
) -> pd.DataFrame:
    """BenchSample rows started in the last ``window_days`` days, with offering labels.

    Columns: ``SAMPLE_COLUMNS``; ``started_at`` is timezone-aware UTC, times are
    float milliseconds, ``cost_usd`` float dollars (NaN when unknown).
    """
    own_store = store is None
    store = store or Store(locations(database_url).database_url)
    now = now or datetime.now(UTC)
    s, o, p, m = store.sample, store.offering, store.provider, store.model
    query = (
        sa.select(
            s.c.offering_id,
            p.c.slug.label("provider_slug"),
            p.c.name.label("provider_name"),
            m.c.slug.label("model_slug"),
            m.c.name.label("model_name"),
            s.c.source,
            s.c.started_at,
            s.c.status,
            s.c.ttfb_ms,
            s.c.generation_ms,
            s.c.submit_ttfb_ms,
            s.c.cost_usd,
            s.c.last_pending_ms,
            s.c.first_ready_ms,
            s.c.region,
        )
        .join(o, o.c.id == s.c.offering_id)
        .join(p, p.c.id == o.c.provider_id)
        .join(m, m.c.id == o.c.image_model_id)
        .where(s.c.started_at >= store.timestamp(now - timedelta(days=window_days)))
    )
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(query).all()
    finally:
        if own_store:
            store.close()
    frame = pd.DataFrame(
        rows,
        columns=[
            "offering_id",
            "provider_slug",
            "provider_name",
            "model_slug",
            "model_name",
            "source",
            "started_at",
            "status",
            "ttfb_ms",
            "generation_ms",
            "submit_ttfb_ms",
            "cost_usd",
            "last_pending_ms",
            "first_ready_ms",
            "region",
        ],
    )
    frame["offering_key"] = frame["provider_slug"] + "/" + frame["model_slug"]
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    numeric = ("ttfb_ms", "generation_ms", "submit_ttfb_ms", "cost_usd")
    for column in (*numeric, "last_pending_ms", "first_ready_ms"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame[list(SAMPLE_COLUMNS)]


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927), as fractions.

    centre = (p + z²/2n) / (1 + z²/n), half-width = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n),
    with p = successes/n. (0, 1) when n is 0.
    """
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def offering_stats(
    samples: pd.DataFrame,
    *,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> list[dict]:
    """One dict per offering, over samples started within ``window_days`` before ``now``.

    Keys: offering_id, offering_key, provider_slug, provider_name, model_slug,
    model_name, and ``STATS_COLUMNS``, named as the OfferingStats columns that store
    them and the pages and API that show them: sample_count (requests sent),
    success_count, success_rate and success_ci_low/high (Wilson 95%),
    generation_p50/p95/p99_ms, ttfb_p50_ms, submit_ttfb_p50_ms, cost_per_success_usd,
    failures ({class: count}, every class present), poll_bracket_p50_ms (the median
    width of the interval in which polling saw completion, first ready minus last
    pending answer; None when no success was polled: the uncertainty polling adds to
    generation times).
    Latencies are None without a success. Sorted by offering key.
    """
    frame = _window(samples, window_days, now)
    frame = frame[frame["status"] != SKIPPED]
    result = []
    for offering_id, group in frame.groupby("offering_id", sort=False):
        first = group.iloc[0]
        ok = group[group["status"] == OK]
        n, successes = len(group), len(ok)
        low, high = wilson_interval(successes, n)
        failures = group.loc[group["status"] != OK, "status"].value_counts()
        result.append(
            {
                "offering_id": int(offering_id),
                "offering_key": first["offering_key"],
                "provider_slug": first["provider_slug"],
                "provider_name": first["provider_name"],
                "model_slug": first["model_slug"],
                "model_name": first["model_name"],
                "sample_count": n,
                "success_count": successes,
                "success_rate": successes / n if n else None,
                "success_ci_low": low,
                "success_ci_high": high,
                "generation_p50_ms": _quantile(ok["generation_ms"], 0.50),
                "generation_p95_ms": _quantile(ok["generation_ms"], 0.95),
                "generation_p99_ms": _quantile(ok["generation_ms"], 0.99),
                "ttfb_p50_ms": _quantile(ok["ttfb_ms"], 0.50),
                "submit_ttfb_p50_ms": _quantile(ok["submit_ttfb_ms"], 0.50),
                "failures": {
                    status: int(failures.get(status, 0))
                    for status in (
                        *FAILURE_CLASSES,
                        *sorted(set(failures.index) - set(FAILURE_CLASSES)),
                    )
                },
                "cost_per_success_usd": _mean(ok["cost_usd"]),
                "poll_bracket_p50_ms": _poll_bracket_p50(ok),
            }
        )
    return sorted(result, key=lambda entry: entry["offering_key"])


def region_stats(
    samples: pd.DataFrame,
    *,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> dict[str, list[dict]]:
    """``offering_stats`` per region the samples were sent from (``bench run --region``).

    Keys are region names, sorted; "" holds samples of runs without a region and the
    gateway's traffic. A provider fast from one region and slow from another shows here.
    """
    if "region" not in samples or samples.empty:
        return {}
    regions = samples["region"].fillna("")
    return {
        str(region): offering_stats(samples[regions == region], window_days=window_days, now=now)
        for region in sorted(regions.unique())
    }


def model_rankings(stats: Sequence[dict]) -> list[dict]:
    """Per model, its offerings ranked by p50 generation time, and the headline sentence.

    Offerings without a successful sample rank last. Returns dicts with model_slug,
    model_name, ranking (offering stats with a ``rank`` from 1) and sentence (None
    when no offering succeeded).
    """
    by_model: dict[str, list[dict]] = {}
    for entry in stats:
        by_model.setdefault(entry["model_slug"], []).append(entry)
    rankings = []
    for model_slug, entries in sorted(by_model.items()):
        ordered = sorted(
            entries,
            key=lambda e: (
                e["generation_p50_ms"] is None,
                e["generation_p50_ms"] or 0.0,
                e["provider_slug"],
            ),
        )
        ranking = [{"rank": index + 1, **entry} for index, entry in enumerate(ordered)]
        rankings.append(
            {
                "model_slug": model_slug,
                "model_name": entries[0]["model_name"],
                "ranking": ranking,
                "sentence": fastest_sentence(ranking[0]),
            }
        )
    return rankings


def fastest_sentence(entry: dict) -> str | None:
    """ "Fastest generation through X at N ms median latency with S% success rate." (or None).

    Formatted like the reference model page: provider slug, p50 generation time in
    whole milliseconds with thousands separators, success rate with one decimal.
    """
    if entry.get("generation_p50_ms") is None or entry.get("success_rate") is None:
        return None
    return (
        f"Fastest generation through {entry['provider_slug']} at "
        f"{entry['generation_p50_ms']:,.0f}ms median latency with "
        f"{entry['success_rate'] * 100:.1f}% success rate."
    )


def summarize(
    samples: pd.DataFrame,
    *,
    window_days: float = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> dict:
    """Everything the site shows, as JSON-ready data: window, offerings, model rankings."""
    now = now or datetime.now(UTC)
    stats = offering_stats(samples, window_days=window_days, now=now)
    return {
        "window_days": window_days,
        "computed_at": now.isoformat(),
        "offerings": stats,
        "models": model_rankings(stats),
    }


def format_table(summary: dict) -> str:
    """A plain-text rendering of ``summarize``'s output, one block per model."""
    lines = [f"Benchmark statistics over the last {summary['window_days']:g} days"]
    if not summary["models"]:
        lines.append("no samples in the window")
    for model in summary["models"]:
        lines += ["", f"{model['model_name']} ({model['model_slug']})"]
        if model["sentence"]:
            lines.append(model["sentence"])
        lines.append(
            f"{'#':>2} {'provider':<16} {'p50 gen':>10} {'p95 gen':>10} {'p99 gen':>10} "
            f"{'success (95% CI)':>24} {'TTFB p50':>10} {'n':>5} {'$/image':>9}"
        )
        for entry in model["ranking"]:
            rate = entry["success_rate"] or 0.0
            interval = f"{rate:.1%} ({entry['success_ci_low']:.0%}-{entry['success_ci_high']:.0%})"
            cost = entry["cost_per_success_usd"]
            lines.append(
                f"{entry['rank']:>2} {entry['provider_slug']:<16} "
                f"{_ms(entry['generation_p50_ms']):>10} {_ms(entry['generation_p95_ms']):>10} "
                f"{_ms(entry['generation_p99_ms']):>10} {interval:>24} "
                f"{_ms(entry['ttfb_p50_ms']):>10} {entry['sample_count']:>5} "
                f"{'-' if cost is None else f'{cost:.4f}':>9}"
            )
            failures = {k: v for k, v in entry["failures"].items() if v}
            if failures:
                lines.append(
                    "   failures: " + ", ".join(f"{k} {v}" for k, v in sorted(failures.items()))
                )
    return "\n".join(lines)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q`` quantile (0 <= q <= 1) of ``values``; None when there are none.

    The project's one definition, used by the stats, the probe, the pages and the
    benchmark reports: linear interpolation between the closest ranks (Hyndman and
    Fan's type 7, numpy's and pandas' default). Why this one: it is what the tools
    readers check us with compute, it is continuous in q (no jump between p99 and
    p99.9) and, unlike nearest-rank, it does not report a sample's p99 as its
    maximum for fewer than 100 samples. NaN values are left out.
    """
    found = percentiles(values, (q,))
    return None if found is None else found[0]


def percentiles(values: Iterable[float], qs: Sequence[float]) -> list[float] | None:
    """``percentile`` at each of ``qs``, sorting ``values`` once; None when there are none."""
    ordered = sorted(float(v) for v in values if v == v)
    if not ordered:
        return None
    found = []
    for q in qs:
        position = (len(ordered) - 1) * q
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        found.append(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
    return found


def _window(samples: pd.DataFrame, window_days: float | None, now: datetime | None):
    if window_days is None or samples.empty:
        return samples
    now = now or datetime.now(UTC)
    started = pd.to_datetime(samples["started_at"], utc=True)
    return samples[(started >= now - timedelta(days=window_days)) & (started <= now)]


def _poll_bracket_p50(ok: pd.DataFrame) -> float | None:
    if "first_ready_ms" not in ok or "last_pending_ms" not in ok:
        return None
    bracket = pd.to_numeric(ok["first_ready_ms"], errors="coerce") - pd.to_numeric(
        ok["last_pending_ms"], errors="coerce"
    )
    return _quantile(bracket, 0.50)


def _quantile(values: pd.Series, q: float) -> float | None:
    found = percentile(pd.to_numeric(values, errors="coerce").dropna().tolist(), q)
    return None if found is None else float(found)


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return None if values.empty else float(values.mean())


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}ms"
