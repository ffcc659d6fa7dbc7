"""Time N requests against any endpoint without a database: "is this provider any good?"."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from bench.capabilities import protocol_defaults
from bench.http import make_client
from bench.providers import (
    Endpoint,
    GenerationResult,
    ImageRequest,
    generate,
    protocol_base_url,
    resolve_kind,
)
from bench.stats import percentile


async def probe(
    kind: str,
    base_url: str,
    model: str,
    *,
    prompt: str,
    n: int = 5,
    concurrency: int = 1,
    size: str = "1024x1024",
    api_key: str | None = None,
    output_format: str = "jpeg",
    poll_interval_s: float | None = None,
    deadline_s: float = 300.0,
    on_sample: Callable[[str], None] | None = None,
) -> dict:
    """Send ``n`` requests (``concurrency`` at a time) and summarize them.

    ``base_url`` is a provider's base URL, mapped like the runner maps it
    (``bench.providers.protocol_base_url``: the simulator's root works for every
    protocol, ``https://fal.run`` for both fal kinds). Returns
    ``{"samples": [...], "summary": {...}}``: each sample's ``GenerationResult.summary()``,
    then requests, successes, success_rate, p50/p95 generation time and p50 TTFB in ms
    over successes (``bench.stats.percentile``), and failures by class.
    """
    # Without a catalog row, the protocol's documented defaults stand in for the
    # offering's (BFL: sides in multiples of 16, so "16:9" is sent as 1360x768).
    rules, capabilities = protocol_defaults(resolve_kind(kind))
    request = ImageRequest.for_offering(
        prompt,
        rules,
        size=size,
        output_format=output_format,
        seed=42,
        capabilities=capabilities,
    )
    endpoint = Endpoint(
        base_url=protocol_base_url(kind, base_url),
        model_id=model,
        api_key=api_key,
        poll_interval_s=poll_interval_s,
        deadline_s=deadline_s,
    )
    results: list[GenerationResult] = []
    slots = asyncio.Semaphore(concurrency)

    async with make_client(read_timeout_s=deadline_s, max_connections=concurrency + 4) as client:

        async def one(index: int) -> None:
            async with slots:
                result = await generate(kind, endpoint, request, client=client)
            results.append(result)
            if on_sample is not None:
                on_sample(f"{len(results):>3}/{n} " + format_sample(result))

        await asyncio.gather(*(one(index) for index in range(n)))
    return {
        "protocol": kind,
        "model": model,
        "samples": [result.summary() for result in results],
        "summary": summarize_results(results),
    }


def summarize_results(results: list[GenerationResult]) -> dict:
    """Success rate, p50/p95 generation time and p50 TTFB (ms, successes only), failures."""
    ok = [result for result in results if result.is_ok]
    generation = sorted(result.generation_ms for result in ok)
    ttfb = sorted(result.ttfb_ms for result in ok)
    return {
        "sample_count": len(results),
        "success_count": len(ok),
        "success_rate": len(ok) / len(results) if results else None,
        "generation_p50_ms": percentile(generation, 0.50),
        "generation_p95_ms": percentile(generation, 0.95),
        "ttfb_p50_ms": percentile(ttfb, 0.50),
        "failures": dict(Counter(result.status for result in results if not result.is_ok)),
    }


def format_sample(result: GenerationResult) -> str:
    if result.is_ok:
        return (
            f"ok  {result.generation_ms:>10,.1f} ms  ttfb {result.ttfb_ms:>10,.1f} ms  "
            f"submit {result.submit_ttfb_ms:>8,.1f} ms  {result.width}x{result.height}  "
            f"{result.bytes:,} bytes"
        )
    return f"{result.status}  {result.error}"


def format_probe(report: dict) -> str:
    summary = report["summary"]

    def ms(value):
        return "-" if value is None else f"{value:,.1f} ms"

    rate = summary["success_rate"]
    lines = [
        f"{report['protocol']} {report['model']}: "
        f"{summary['success_count']}/{summary['sample_count']} "
        f"succeeded ({0 if rate is None else rate:.1%})",
        f"generation time p50 {ms(summary['generation_p50_ms'])}, "
        f"p95 {ms(summary['generation_p95_ms'])}; TTFB p50 {ms(summary['ttfb_p50_ms'])}",
    ]
    if summary["failures"]:
        lines.append(
            "failures: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["failures"].items()))
        )
    return "\n".join(lines)
