"""Ballot stuffing against a fresh demo site: what the bot gets through, what detection keeps out.

    python -m tests.benchmarks.stuffing                 # 60 s attack, the site's default limits
    python -m tests.benchmarks.stuffing --duration 30 --workers 4

It replays the audit's attack (issue 17): a throwaway demo site (`manage.py demo`: the
catalog, simulated benchmark, placeholder images and an honest simulated crowd) is
rated once with `manage.py ratings` (detection on, so the honest crowd's false-positive
rate is measured), then served by gunicorn on loopback with production settings and the
default arena limits. One bot, from one address (127.0.0.1), for `--duration` seconds,
rotates voter identities as fast as the limits allow, really solving each identity's
proof of work, and votes only for the last-placed text-to-image model, each vote
1.6 s after serving so the fast-vote flag never fires. The bot is given an oracle (it
reads which slot holds its target from the database): the worst case, since a real
bot would first have to learn the images from reveals. Then `manage.py ratings` runs
again and the script prints the votes cast, flagged and excluded, and the target's
rating before and after against the half-width of its 95% interval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from leaderboard.ratings import detection
from tests.benchmarks import harness
from tests.benchmarks.harness import CSRF_INPUT, manage, solve_challenge, work_directory

VOTE_DELAY_S = 1.6  # just past ARENA_MIN_VOTE_MS (1.5 s), as in the audit

FIGURES = """
import json
from leaderboard.models import Rating, Vote, VoterExclusion, VoterIdentity
board = Rating.objects.filter(leaderboard__is_current=True, leaderboard__mode="t2i",
    leaderboard__category=None, leaderboard__window="all", rating__isnull=False)
rows = {r.image_model.slug: [r.rating, r.ci_low, r.ci_high, r.rank] for r in board}
demo_voters = set(Vote.objects.filter(is_demo=True).values_list("voter", flat=True))
active = VoterExclusion.objects.filter(lifted_at__isnull=True)
excluded = set(active.values_list("voter", flat=True))
bot = set(VoterIdentity.objects.values_list("voter", flat=True))
bot_votes = Vote.objects.filter(voter__in=bot)
# What the bot's votes would have done had they counted (one fit, no bootstrap).
from django.db.models import Q
from leaderboard import ratings
kept = Vote.objects.filter(Q(is_excluded=False) | Q(voter__in=bot), mode="t2i").values_list(
    "model_a__slug", "model_b__slug", "outcome")
a, b, o = zip(*kept)
fit = ratings.fit_bradley_terry(ratings.aggregate_votes(a, b, o))
print(json.dumps({
    "if_counted": dict(zip(fit.models, map(float, fit.rating))),
    "ratings": rows,
    "model_ids": dict(Rating.objects.filter(leaderboard__is_current=True)
        .values_list("image_model__slug", "image_model_id").distinct()),
    "demo_voters": len(demo_voters),
    "demo_voters_excluded": len(demo_voters & excluded),
    "bot_identities": len(bot),
    "bot_votes": bot_votes.count(),
    "bot_votes_flagged": bot_votes.filter(is_flagged=True).count(),
    "bot_votes_excluded": bot_votes.filter(is_excluded=True).count(),
    "bot_voters_excluded": len(bot & excluded),
    "rules": sorted(VoterExclusion.objects.filter(voter__in=bot)
        .values_list("evidence__rule", flat=True).distinct()),
}))
"""


@dataclass
class Tally:
    identities: int = 0
    identities_refused: int = 0
    proof_s: float = 0.0
    serves: int = 0
    target_matchups: int = 0
    votes: int = 0
    refused: int = 0


def site_environment(workdir: Path) -> dict[str, str]:
    return harness.site_environment(
        workdir, f"sqlite:///{workdir / 'stuffing.sqlite3'}", ARENA_POOL_CACHE_S="5"
    )


def figures(env) -> dict:
    return json.loads(manage(env, "shell", "-c", FIGURES).strip().splitlines()[-1])


class Bot:
    def __init__(self, base_url: str, database: Path, target_id: int, deadline: float):
        self.base_url, self.target_id, self.deadline = base_url, target_id, deadline
        self.database = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        self.tally = Tally()

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def target_side(self, code: str) -> str | None:
        """The oracle: which slot of matchup `code` holds the target, if any."""
        row = self.database.execute(
            "SELECT model_a_id, model_b_id FROM leaderboard_matchup WHERE code = ?", (code,)
        ).fetchone()
        if row is None:
            return None
        return {row[0]: "a", row[1]: "b"}.get(self.target_id)

    async def wait(self, response: httpx.Response) -> None:
        retry_s = float(response.headers.get("Retry-After", "1"))
        await asyncio.sleep(max(0.0, min(retry_s, self.remaining_s())))

    async def new_identity(self) -> tuple[httpx.AsyncClient, str] | None:
        """A fresh identity with its proof of work paid, or None (after waiting) if the
        network's new-identity limit refused it."""
        client = httpx.AsyncClient(base_url=self.base_url, timeout=30)
        page = await client.get("/arena/")
        token = CSRF_INPUT.search(page.text).group(1)
        challenge = (await client.get("/arena/challenge")).json()["challenge"]
        started = time.perf_counter()
        payload = await asyncio.to_thread(solve_challenge, challenge)
        self.tally.proof_s += time.perf_counter() - started
        answer = await client.post(
            "/arena/identity",
            data={"altcha": payload},
            headers={"Accept": "application/json", "X-CSRFToken": token},
        )
        if answer.status_code != 200:
            self.tally.identities_refused += 1
            await client.aclose()
            await self.wait(answer)
            return None
        self.tally.identities += 1
        return client, token

    async def use(self, client: httpx.AsyncClient, token: str) -> None:
        """Vote for the target with this identity until a limit refuses it."""
        json_headers = {"Accept": "application/json"}
        while self.remaining_s() > 0:
            served_at = time.monotonic()
            response = await client.get("/arena/next?mode=t2i", headers=json_headers)
            if response.status_code != 200:
                return  # over this identity's (or the address's) serving limit: rotate
            self.tally.serves += 1
            matchup = response.json()["matchup"]
            side = matchup and self.target_side(matchup["code"])
            if not side:
                continue
            self.tally.target_matchups += 1
            await asyncio.sleep(max(0.0, served_at + VOTE_DELAY_S - time.monotonic()))
            vote = await client.post(
                matchup["vote_url"],
                data={"outcome": side},
                headers={**json_headers, "X-CSRFToken": token},
            )
            if vote.status_code == 200:
                self.tally.votes += 1
            else:
                self.tally.refused += 1
                return

    async def worker(self) -> None:
        while self.remaining_s() > 0:
            identity = await self.new_identity()
            if identity is None:
                continue
            client, token = identity
            try:
                await self.use(client, token)
            finally:
                await client.aclose()

    async def run(self, workers: int) -> Tally:
        await asyncio.gather(*(self.worker() for _ in range(workers)))
        return self.tally


def heavy_honest_false_positives(ratings: dict[str, float], voters: int, votes_each: int) -> int:
    """Voters flagged among `voters` simulated honest voters with `votes_each` decisive
    votes each, drawn from `ratings` (the demo crowd votes too rarely to be tested)."""
    rng = np.random.default_rng(17)
    models = sorted(ratings)
    pairs = np.array(
        [rng.choice(len(models), 2, replace=False) for _ in range(voters * votes_each)]
    )
    model_a = np.array(models, dtype=object)[pairs[:, 0]]
    model_b = np.array(models, dtype=object)[pairs[:, 1]]
    gap = np.array([ratings[b] - ratings[a] for a, b in zip(model_a, model_b, strict=True)])
    outcome = np.where(rng.random(len(gap)) < 1 / (1 + 10 ** (gap / 400)), "a", "b").astype(object)
    voter = np.repeat([f"honest-{n}" for n in range(voters)], votes_each).astype(object)
    everyone = np.ones(len(voter), dtype=bool)
    network = np.array([""] * len(voter), dtype=object)
    suspects = detection.find_suspects(
        voter, network, model_a, model_b, outcome, everyone, everyone
    )
    return len({v for s in suspects for v in s.voters})


def interval(row) -> str:
    rating, low, high, rank = row
    return f"{rating:7.1f} [{low:.1f}, {high:.1f}] rank {rank}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of attack.")
    parser.add_argument("--workers", type=int, default=8, help="Identities the bot runs at once.")
    parser.add_argument("--demo-votes", type=int, default=3000, help="Honest demo votes.")
    parser.add_argument("--bootstrap", type=int, default=300, help="Bootstrap rounds per fit.")
    parser.add_argument("--heavy-voters", type=int, default=300, help="Simulated heavy voters.")
    parser.add_argument("--heavy-votes", type=int, default=150, help="Votes per heavy voter.")
    parser.add_argument("--keep", action="store_true", help="Keep the work directory.")
    args = parser.parse_args(argv)

    with work_directory("pairwise-stuffing-", keep=args.keep) as workdir:
        env = site_environment(workdir)
        print(f"preparing a demo site in {workdir} ...", flush=True)
        manage(env, "demo", "--votes", str(args.demo_votes))
        manage(env, "collectstatic", "--noinput", "-v0")
        honest = manage(env, "ratings", "--bootstrap", str(args.bootstrap)).strip().splitlines()
        before = figures(env)
        target, row = min(before["ratings"].items(), key=lambda item: item[1][0])
        half_width = (row[2] - row[1]) / 2
        print(f"honest crowd       {honest[0]}")
        print(
            f"false positives    {before['demo_voters_excluded']} of {before['demo_voters']} "
            f"honest demo voters excluded "
            f"({before['demo_voters_excluded'] / max(1, before['demo_voters']):.2%})"
        )
        ratings_now = {slug: values[0] for slug, values in before["ratings"].items()}
        heavy = heavy_honest_false_positives(ratings_now, args.heavy_voters, args.heavy_votes)
        print(
            f"false positives    {heavy} of {args.heavy_voters} simulated heavy honest voters "
            f"({args.heavy_votes} votes each, from the fitted ratings) flagged for favouritism "
            f"({heavy / args.heavy_voters:.2%})"
        )
        print(f"target             {target}, last placed in text to image: {interval(row)}")

        with harness.gunicorn(env, workers=2, threads=4) as (base_url, _server):
            print(f"attack             one address, {args.duration:.0f} s, {args.workers} workers")
            bot = Bot(
                base_url,
                workdir / "stuffing.sqlite3",
                before["model_ids"][target],
                time.monotonic() + args.duration,
            )
            tally = asyncio.run(bot.run(args.workers))

        detection = manage(env, "ratings", "--bootstrap", str(args.bootstrap)).strip()
        after = figures(env)
        new_row = after["ratings"][target]
        moved = new_row[0] - row[0]
        print(
            f"identities         {tally.identities} issued, {tally.identities_refused} refused "
            f"by the per-network limit; proof of work {tally.proof_s:.2f} s in all"
        )
        print(
            f"matchups served    {tally.serves} ({tally.target_matchups} with the target); "
            f"votes refused {tally.refused}"
        )
        print(f"votes cast         {tally.votes} (recorded: {after['bot_votes']})")
        print(f"votes flagged      {after['bot_votes_flagged']} (faster than ARENA_MIN_VOTE_MS)")
        print(
            f"votes excluded     {after['bot_votes_excluded']} of {after['bot_votes']}; "
            f"{after['bot_voters_excluded']} of {after['bot_identities']} bot identities "
            f"excluded (rules: {', '.join(after['rules']) or 'none'})"
        )
        print(f"detection          {detection.splitlines()[0]}")
        print(
            f"false positives    {after['demo_voters_excluded']} of {after['demo_voters']} "
            f"honest demo voters excluded after the attack"
        )
        print(f"target before      {interval(row)}")
        print(
            f"had they counted   {after['if_counted'][target]:7.1f} (maximum-likelihood fit "
            f"with the bot's votes, no bootstrap)"
        )
        print(f"target after       {interval(new_row)}")
        ok = abs(moved) < half_width
        print(
            f"verdict            {'OK' if ok else 'FAILED'}: moved {moved:+.1f} points, "
            f"half-width of its 95% interval {half_width:.1f}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
