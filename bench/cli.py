"""``python -m bench``: run, smoke, probe, simulate, stats. ``manage.py bench`` calls ``main`` too.

Exit codes: 0 done; 1 the run failed or was interrupted, or a probe got no image;
2 bad arguments or an unusable database; 75 (EX_TEMPFAIL) another run holds the
lock, which cron can treat as "try later".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from decimal import Decimal, InvalidOperation

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (without the program name) and run one command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand and flag of ``python -m bench``.

    Long on purpose: argparse declarations only, no logic, kept together so that the
    code reads like ``--help``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Pairwise provider benchmark: time image-generation requests.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="benchmark the catalog's offerings into the database")
    run.add_argument("--suite", default="default", help="request suite (default, quick, tiny)")
    run.add_argument(
        "--offerings",
        nargs="+",
        metavar="KEY",
        help="offering keys (provider/model), provider or model slugs",
    )
    run.add_argument("--challenges", nargs="+", metavar="SLUG", help="challenge slugs")
    run.add_argument("--repeat", type=_positive_int, default=1, help="requests per pair")
    run.add_argument("--concurrency", type=_positive_int, default=4, help="requests in flight")
    run.add_argument("--max-cost-usd", type=_money, help="spending cap for the run, in USD")
    run.add_argument("--database-url", help="default: $DATABASE_URL, else Django's SQLite file")
    run.add_argument("--media-root", help="default: $MEDIA_ROOT, else <repo>/var/media")
    run.add_argument(
        "--provider-url",
        action="append",
        default=[],
        metavar="SLUG=URL",
        help="override a provider's base URL, e.g. simulated=http://127.0.0.1:9000",
    )
    run.add_argument(
        "--poll-interval-s",
        type=float,
        help="poll at this fixed interval (default: adaptive, fast around each median)",
    )
    run.add_argument("--deadline-s", type=float, help="override the suite's per-request deadline")
    run.add_argument(
        "--grace-s",
        type=float,
        default=30.0,
        help="after SIGTERM, seconds in-flight requests may take (default 30)",
    )
    run.add_argument(
        "--ramp-s",
        type=float,
        default=0.0,
        help="spread the first requests evenly over this many seconds (default 0)",
    )
    run.add_argument(
        "--shard",
        metavar="K/N",
        help="measure part K of N of the plan (one per host; each under its own lock)",
    )
    run.add_argument(
        "--region",
        default=os.environ.get("BENCH_REGION", ""),
        help="where this host measures from (e.g. eu-west), stored on every sample "
        "(default: $BENCH_REGION)",
    )
    run.add_argument("--quiet", action="store_true", help="print only the summary line")
    run.set_defaults(handler=_run)

    smoke = commands.add_parser(
        "smoke", help="one cheapest real request per offering whose key is set (costs money)"
    )
    smoke.add_argument(
        "--max-cost-usd",
        type=_money,
        default=Decimal("0.10"),
        help="spending cap for the whole smoke run, in USD (default 0.10)",
    )
    smoke.add_argument("--offerings", nargs="+", metavar="KEY", help="offering keys or slugs")
    smoke.add_argument("--database-url", help="default: $DATABASE_URL, else Django's SQLite file")
    smoke.add_argument("--media-root", help="default: $MEDIA_ROOT, else <repo>/var/media")
    smoke.add_argument(
        "--provider-url", action="append", default=[], metavar="SLUG=URL", help="as for run"
    )
    smoke.set_defaults(handler=_smoke)

    probe = commands.add_parser("probe", help="time N requests against any endpoint, no database")
    probe.add_argument(
        "--protocol", required=True, help="openai, replicate, fal (queue), fal_sync or bfl"
    )
    probe.add_argument("--base-url", required=True, help="e.g. https://api.replicate.com")
    probe.add_argument("--model", required=True, help="the provider's model id")
    probe.add_argument("--prompt", default="A lighthouse on a cliff at dawn, photorealistic")
    probe.add_argument("-n", type=_positive_int, default=5, help="number of requests")
    probe.add_argument("--concurrency", type=_positive_int, default=1)
    probe.add_argument("--size", default="1024x1024", help="WxH, W:H or auto")
    probe.add_argument("--output-format", default="jpeg", choices=["jpeg", "png", "webp"])
    probe.add_argument("--api-key-env", help="variable holding the key (default per protocol)")
    probe.add_argument("--poll-interval-s", type=float)
    probe.add_argument("--deadline-s", type=float, default=300.0)
    probe.add_argument("--json", action="store_true", help="print JSON instead of text")
    probe.set_defaults(handler=_probe)

    simulate = commands.add_parser("simulate", help="serve the loopback provider simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8765)
    simulate.add_argument("--profile", help="JSON latency/failure profile (default: built in)")
    simulate.add_argument("--tls-cert", help="PEM certificate: serve HTTPS instead of HTTP")
    simulate.add_argument("--tls-key", help="PEM private key of --tls-cert")
    simulate.set_defaults(handler=_simulate)

    stats = commands.add_parser("stats", help="per-offering statistics over a rolling window")
    stats.add_argument("--database-url")
    stats.add_argument("--window-days", type=float, default=30.0)
    stats.add_argument("--json", action="store_true")
    stats.add_argument(
        "--by-region", action="store_true", help="one table per region samples came from"
    )
    stats.set_defaults(handler=_stats)
    return parser


def _run(args) -> int:
    from bench.lock import LockHeld
    from bench.plan import Shard
    from bench.runner import run_benchmark
    from bench.store import StoreError

    try:
        overrides = dict(_pair(item) for item in args.provider_url)
        shard = Shard.parse(args.shard) if args.shard else None
        region = _region(args.region)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = run_benchmark(
            args.database_url,
            args.media_root,
            suite=args.suite,
            offerings=args.offerings,
            challenges=args.challenges,
            repeat=args.repeat,
            concurrency=args.concurrency,
            max_cost_usd=args.max_cost_usd,
            base_url_overrides=overrides,
            poll_interval_s=args.poll_interval_s,
            deadline_s=args.deadline_s,
            grace_s=args.grace_s,
            ramp_s=args.ramp_s,
            handle_signals=True,
            progress_stream=None if args.quiet else sys.stdout,
            shard=shard,
            region=region,
        )
    except LockHeld as error:
        print(f"bench run: {error}; exiting without doing anything.", file=sys.stderr)
        return EXIT_LOCKED
    except (StoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.quiet:
        print(summary.line())
    return EXIT_OK if summary.status == "finished" else EXIT_FAILED


def _smoke(args) -> int:
    from bench.lock import LockHeld
    from bench.smoke import run_smoke
    from bench.store import StoreError

    try:
        overrides = dict(_pair(item) for item in args.provider_url)
        all_ok = run_smoke(
            args.database_url,
            args.media_root,
            stream=sys.stdout,
            max_cost_usd=args.max_cost_usd,
            offerings=args.offerings,
            base_url_overrides=overrides,
            handle_signals=True,
        )
    except LockHeld as error:
        print(f"bench smoke: {error}; exiting without doing anything.", file=sys.stderr)
        return EXIT_LOCKED
    except (StoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if all_ok else EXIT_FAILED


def _probe(args) -> int:
    from bench.probe import format_probe, probe
    from bench.providers import DEFAULT_KEY_ENV, resolve_kind
    from bench.sizes import SizeError

    try:
        kind = resolve_kind(args.protocol)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    key_env = args.api_key_env or DEFAULT_KEY_ENV[kind]
    api_key = os.environ.get(key_env) or None
    try:
        report = asyncio.run(
            probe(
                kind,
                args.base_url,
                args.model,
                prompt=args.prompt,
                n=args.n,
                concurrency=args.concurrency,
                size=args.size,
                api_key=api_key,
                output_format=args.output_format,
                poll_interval_s=args.poll_interval_s,
                deadline_s=args.deadline_s,
                on_sample=None if args.json else lambda line: print(line, flush=True),
            )
        )
    except SizeError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        if api_key is None:
            print(f"(no key: ${key_env} is not set, requests were sent without one)")
        print(format_probe(report))
    return EXIT_OK if report["summary"]["success_count"] else EXIT_FAILED


def _simulate(args) -> int:
    from bench.simulator import serve_forever, server_ssl_context

    def ready(url: str) -> None:
        print(f"simulator listening on {url} (Ctrl-C to stop)", flush=True)

    context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("error: --tls-cert and --tls-key go together", file=sys.stderr)
            return EXIT_USAGE
        context = server_ssl_context(args.tls_cert, args.tls_key)
    try:
        asyncio.run(serve_forever(args.port, args.profile, args.host, ready, context))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _stats(args) -> int:
    from bench.stats import format_table, load_samples, summarize
    from bench.store import StoreError

    try:
        samples = load_samples(args.database_url, window_days=args.window_days)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.by_region:
        summary = summarize(samples, window_days=args.window_days)
        print(json.dumps(summary, indent=2) if args.json else format_table(summary))
        return EXIT_OK
    regions = samples["region"].fillna("")
    per_region = {
        region: summarize(samples[regions == region], window_days=args.window_days)
        for region in sorted(regions.unique())
    }
    if args.json:
        print(json.dumps({"regions": per_region}, indent=2))
        return EXIT_OK
    for region, summary in per_region.items():
        print(f"== region {region or '(none: unnamed runs and the API gateway)'}")
        print(format_table(summary), end="\n\n")
    return EXIT_OK


def _pair(text: str) -> tuple[str, str]:
    slug, separator, url = text.partition("=")
    if not separator or not slug or not url.startswith(("http://", "https://")):
        raise ValueError(f"--provider-url wants SLUG=http(s)://..., got {text!r}")
    return slug, url


def _region(text: str) -> str:
    region = text.strip()
    if len(region) > 40 or not re.fullmatch(r"[A-Za-z0-9._-]*", region):
        raise ValueError(f"--region wants a short name of letters, digits, . _ -; got {text!r}")
    return region


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError("must be a non-negative amount")
    return value
