"""Rate models from a vote CSV without Django: `python -m leaderboard.ratings VOTES.csv`.

Exists so ratings can be recomputed, checked and compared from an exported vote file.
Exit status 0 on success, 2 on a bad file or bad option (one-line message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .leaderboard import Leaderboard, rate_counts
from .votes import count_votes
from .votes_csv import VotesFileError, read_votes_csv


def _anchor(text: str) -> tuple[str, float]:
    model, separator, value = text.rpartition("=")
    try:
        if not separator or not model:
            raise ValueError
        return model, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MODEL=VALUE, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m leaderboard.ratings",
        description="Bradley-Terry ratings (Elo scale) with bootstrap 95%% intervals.",
    )
    parser.add_argument("votes_csv", help="CSV with model_a,model_b,winner[,category,timestamp]")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="rounds (1000)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="bootstrap seed (0)")
    parser.add_argument("--both-bad", choices=("tie", "drop"), default="tie")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--anchor", type=_anchor, metavar="MODEL=VALUE", help="fix one rating")
    parser.add_argument("--category", metavar="C", help="only votes whose category is C")
    parser.add_argument("--center", type=float, default=1000.0, help="mean rating (1000)")
    parser.add_argument("--min-votes", type=int, default=50, help="provisional below this (50)")
    parser.add_argument(
        "--prior-sd",
        type=float,
        metavar="POINTS",
        help="Gaussian prior sd on ratings (MAP); 565.69 reproduces sklearn C=1 arena notebooks",
    )
    return parser


def format_table(board: Leaderboard) -> str:
    width = max([len("model"), *(len(r.model) for r in (*board.rows, *board.unrated))])
    lines = [
        f"{'rank':>4}  {'model':<{width}}  {'rating':>7}  {'95% interval':^18}  {'votes':>7}"
        f"  {'W/L/T/BB':>17}  flags"
    ]
    for row in board.rows:
        flags = ", ".join(
            flag
            for flag, on in (("provisional", row.is_provisional), ("prior", row.status == "prior"))
            if on
        )
        record = f"{row.wins}/{row.losses}/{row.ties}/{row.both_bad}"
        lines.append(
            f"{row.rank:>4}  {row.model:<{width}}  {row.rating:7.1f}  "
            f"[{row.ci_low:7.1f}, {row.ci_high:7.1f}]  {row.votes:>7,}  {record:>17}  {flags}"
        )
    for model in board.unrated:
        lines.append(f"{'-':>4}  {model.model:<{width}}  unrated ({model.reason}: {model.detail})")
    lines.extend(f"note: {note}" for note in board.notes)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.bootstrap < 0:
            raise ValueError("--bootstrap must be >= 0")
        votes = read_votes_csv(args.votes_csv, category=args.category)
        board = rate_counts(
            count_votes(votes),
            bootstrap=args.bootstrap,
            seed=args.seed,
            both_bad=args.both_bad,
            center=args.center,
            anchor=args.anchor,
            min_votes=args.min_votes,
            prior_sd_points=args.prior_sd,
        )
    except (VotesFileError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(board.to_dict()))
    else:
        print(format_table(board))
        print(
            f"{board.total_votes:,} votes, {len(board.rows)} models rated, "
            f"{len(board.unrated)} unrated, {time.perf_counter() - started:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
