"""A real smoke run: one cheapest request per offering whose key is set.

Before cron spends money on every provider, this checks each key, base URL and
adapter with one request of the offering's cheapest kind (lowest price, then fewest
pixels; ``bench.plan``), through the same runner a cron run uses: the run lock, a
BenchRun with suite ``smoke``, spend written with each sample, SIGTERM handling,
and a spending cap ($0.10 unless told). It prints, per offering, what was sent, its
cost, status and timings, then the total. Never run by CI: it costs real money.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TextIO

import sqlalchemy as sa

from bench.config import locations
from bench.runner import RunSummary, run_benchmark_async
from bench.store import Store, StoreError
from bench.suites import SUITES

DEFAULT_CAP_USD = Decimal("0.10")
SUITE = SUITES["smoke"]


def run_smoke(
    database_url: str | None = None,
    media_root: str | os.PathLike | None = None,
    *,
    stream: TextIO,
    max_cost_usd: Decimal = DEFAULT_CAP_USD,
    offerings: Sequence[str] | None = None,
    base_url_overrides: Mapping[str, str] | None = None,
    handle_signals: bool = False,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """Send the smoke requests and print the report to ``stream``; True if all came back ok.

    Offerings whose provider names no key variable, or whose variable is unset, are
    listed and left out. Raises ``StoreError`` (no such offering, no text-to-image
    challenge to send, no tables) and ``bench.lock.LockHeld`` like a run does.
    """
    env = os.environ if environ is None else environ
    where = locations(database_url, media_root, environ=env)
    store = Store(where.database_url)
    try:
        rows = store.load_offerings(offerings)
        prompts = [row for row in store.load_challenges() if row.mode == "t2i"]
    finally:
        store.close()
    if not prompts:
        raise StoreError("no active text-to-image challenge to send as the smoke prompt")
    keyed = [row for row in rows if row.api_key_env and env.get(row.api_key_env)]
    unkeyed: dict[str, list] = {}
    for row in rows:
        if row not in keyed:
            unkeyed.setdefault(row.provider_slug, []).append(row)
    for provider, left_out in unkeyed.items():
        variable = left_out[0].api_key_env
        why = f"{variable} is not set" if variable else "the provider names no key variable"
        stream.write(f"skip  {provider} ({len(left_out)} offerings): {why}\n")
    if not keyed:
        stream.write("nothing sent: no offering has its key set\n")
        return False
    stream.write(
        f"smoke: one cheapest request to each of {len(keyed)} offerings, "
        f"prompt {prompts[0].slug!r}, cap ${max_cost_usd:.2f}\n"
    )
    summary = asyncio.run(
        run_benchmark_async(
            where.database_url,
            where.media_root,
            suite=SUITE,
            offerings=[row.key for row in keyed],
            challenges=[prompts[0].slug],
            concurrency=min(4, len(keyed)),
            max_cost_usd=max_cost_usd,
            base_url_overrides=base_url_overrides,
            handle_signals=handle_signals,
            environ=env,
        )
    )
    return _report(where.database_url, summary, [row.key for row in keyed], stream)


def _report(database_url: str, summary: RunSummary, keys: list[str], stream: TextIO) -> bool:
    store = Store(database_url)
    s, o, p, m = store.sample, store.offering, store.provider, store.model
    query = (
        sa.select(
            p.c.slug.label("provider"),
            m.c.slug.label("model"),
            o.c.endpoint_kind,
            s.c.status,
            s.c.requested_width,
            s.c.requested_height,
            s.c.cost_usd,
            s.c.ttfb_ms,
            s.c.generation_ms,
            s.c.provider_request_id,
            s.c.error,
        )
        .join(o, o.c.id == s.c.offering_id)
        .join(p, p.c.id == o.c.provider_id)
        .join(m, m.c.id == o.c.image_model_id)
        .where(s.c.run_id == summary.run_id)
    )
    try:
        with store.engine.connect() as connection:
            samples = {f"{row.provider}/{row.model}": row for row in connection.execute(query)}
    finally:
        store.close()
    width = max(len(key) for key in keys)
    sent_width = max(
        (len(f"{row.endpoint_kind} {row.requested_width}x{row.requested_height} jpeg")
         for row in samples.values()),
        default=0,
    )  # fmt: skip
    for key in keys:
        row = samples.get(key)
        if row is None:
            stream.write(f"{key:<{width}}  not sent ({summary.status})\n")
            continue
        size = f"{row.requested_width}x{row.requested_height}"
        sent = f"{row.endpoint_kind} {size} {SUITE.output_format}".ljust(sent_width)
        if row.status == "skipped":
            stream.write(f"{key:<{width}}  {sent}  not sent: {row.error}\n")
            continue
        cost = f"${row.cost_usd:.4f}" if row.cost_usd is not None else "cost unknown"
        timing = (
            f"  ttfb {row.ttfb_ms:,.0f} ms, total {row.generation_ms:,.0f} ms"
            if row.generation_ms is not None
            else ""
        )
        request_id = f"  id={row.provider_request_id}" if row.provider_request_id else ""
        error = f"  {row.error}" if row.error else ""
        stream.write(f"{key:<{width}}  {sent}  {cost}  {row.status}{timing}{request_id}{error}\n")
    ok = sum(1 for row in samples.values() if row.status == "ok")
    sent_count = sum(1 for row in samples.values() if row.status != "skipped")
    stream.write(
        f"total: {sent_count} sent, {ok} ok, ${summary.spent_usd:.4f} spent "
        f"(run {summary.run_id} {summary.status})\n"
    )
    stream.flush()
    return summary.status == "finished" and ok == len(keys)
