"""Prepare the demo site: catalog, benchmark samples, arena images, crowd votes, ratings.

`python manage.py demo --serve` is the README's quick start. Everything is made
by the real code paths: the benchmark runner times every offering of the catalog
(Replicate, fal, BFL, OpenAI and the simulated provider), each through its own
adapter and protocol, but every request goes to the built-in loopback simulator,
with per-provider latency and failure profiles that are invented for the demo
(fixtures/simulator_demo_profile.json); its images become the arena's generations,
a simulated crowd with hidden true ratings votes through the arena's services,
and the ratings and stats commands fit the rest.
Each step is skipped when its data already exists, so running it again is cheap.
"""

import contextlib
import io
import json
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from leaderboard.models import (
    ArenaMode,
    BenchRun,
    BenchSample,
    Challenge,
    Generation,
    ImageModel,
    Offering,
    Provider,
    Vote,
)
from leaderboard.provider_stats import refresh_offering_stats
from leaderboard.rating_refresh import refresh_leaderboards

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
SIMULATOR_PROFILE = FIXTURES_DIR / "simulator_demo_profile.json"
# Stands in for each provider's key: the requests only ever reach the loopback simulator,
# and a key the operator has set for real runs must never be sent by the demo.
DEMO_KEY = "demo-simulator-not-a-key"
SIMULATED_PROVIDER = "simulated"
# Challenges per mode the named providers' offerings are timed on (once each).
PROVIDER_CHALLENGES = {ArenaMode.TEXT_TO_IMAGE: 5, ArenaMode.EDIT: 3}


class Command(BaseCommand):
    help = "Load the demo catalog, benchmark the simulated providers, cast demo votes, serve."

    def add_arguments(self, parser):
        parser.add_argument("--serve", action="store_true", help="Run the site afterwards.")
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--votes", type=int, default=3000, help="Demo votes to cast.")
        parser.add_argument("--repeat", type=int, default=2, help="Benchmark rounds per pair.")

    def handle(self, *args, serve, addrport, votes, repeat, **options):
        started = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        if not ImageModel.objects.exists():
            call_command("loaddata", "catalog", verbosity=0)
        copy_fixture_media(Path(settings.MEDIA_ROOT))
        self.say(f"catalog: {ImageModel.objects.count()} models")

        if not BenchSample.objects.exists():
            for summary in benchmark_every_offering(repeat=repeat):
                # Pages label these numbers simulated, whichever provider they name.
                BenchRun.objects.filter(id=summary.run_id).update(is_simulated=True)
                self.say(f"benchmark (answered by the simulator): {summary.line()}")
        if not Generation.objects.exists():
            from leaderboard.arena.demo import ensure_demo_generations

            self.say(f"arena images drawn: {ensure_demo_generations()}")
        if not Vote.objects.filter(is_demo=True).exists():
            from leaderboard.arena.demo import simulate_crowd

            self.say(f"demo votes: {simulate_crowd(votes=votes):,}")
        self.say(f"serving arena: {prepare_serving_demo()}")
        self.say(f"ratings: {refresh_leaderboards()}")
        self.say(str(refresh_offering_stats()))
        self.say(f"demo ready in {time.monotonic() - started:.1f} s")
        if serve:
            from leaderboard.arena.pool import clear_cache

            # The crowd filled this process's arena cache before the ratings existed;
            # the site it serves must start from the fresh leaderboard.
            clear_cache()
            with simulated_provider_running(self.say):
                call_command("runserver", addrport, use_reloader=False)

    def say(self, line: str) -> None:
        self.stdout.write(line)


def prepare_serving_demo() -> str:
    """Serving-arena images and demo votes (once), then the serving boards."""
    from bench.config import sqlalchemy_url
    from bench.serving import measure_serving_pairs
    from bench.store import Store
    from leaderboard.arena.serving_demo import (
        ensure_serving_demo_generations,
        simulate_serving_crowd,
    )
    from leaderboard.models import ServingVote
    from leaderboard.serving_boards import refresh_serving_boards

    images = ensure_serving_demo_generations()
    store = Store(sqlalchemy_url(settings.DATABASE_URL))
    try:
        measured = measure_serving_pairs(store, Path(settings.MEDIA_ROOT))
    finally:
        store.close()
    votes = 0
    if not ServingVote.objects.filter(is_demo=True).exists():
        votes = simulate_serving_crowd()
    boards = refresh_serving_boards()
    return f"{images} images, {measured} pairs measured, {votes} votes; boards: {boards}"


def copy_fixture_media(media_root: Path) -> None:
    """Copy the fixtures' reference images into MEDIA_ROOT (idempotent)."""
    shutil.copytree(FIXTURES_DIR / "media", media_root, dirs_exist_ok=True)


@contextlib.contextmanager
def simulated_provider_running(say):
    """Keep the simulator on the `simulated` provider's own port while the site runs,
    so the OpenAI-compatible API and `manage.py bench run` work against the demo."""
    from bench.simulator import serve_in_thread

    base_url = Provider.objects.get(slug="simulated").base_url
    port = urlsplit(base_url).port
    try:
        with serve_in_thread(port=port, profile=demo_profile()):
            say(f"simulated providers listening at {base_url}")
            yield
    except OSError as error:
        say(f"simulated providers not started ({error}); is another simulator on {base_url}?")
        yield


def demo_profile() -> dict:
    """The invented demo profile, with each provider's entry given to its offerings' ids."""
    from bench.simulator.profiles import expand_provider_profiles

    offerings = (
        (slug, model, (model_id, edit_id))
        for slug, model, model_id, edit_id in Offering.objects.values_list(
            "provider__slug", "image_model__slug", "provider_model_id", "edit_model_id"
        )
    )
    return expand_provider_profiles(json.loads(SIMULATOR_PROFILE.read_text()), offerings)


def benchmark_every_offering(*, repeat: int) -> list:
    """Run the benchmark runner on every active offering against an in-process simulator.

    Every provider's base URL points at the simulator (on a free port) and every key
    variable holds DEMO_KEY, so each offering is timed through its own adapter and
    protocol, and nothing leaves the machine. Two runs keep the demo quick: the
    simulated provider's offerings on every challenge (their images fill the arena),
    then the named providers' offerings once on a few challenges per mode (enough
    samples for their tables, and a showcase image each). Returns both runs' summaries.
    """
    from bench.runner import run_benchmark
    from bench.simulator import serve_in_thread

    providers = list(Provider.objects.filter(is_active=True))
    serving = set(
        Offering.objects.filter(is_active=True, provider__in=providers).values_list(
            "provider__slug", flat=True
        )
    )
    named = sorted(serving - {SIMULATED_PROVIDER})
    environ = {p.api_key_env: DEMO_KEY for p in providers if p.api_key_env}
    sample = [
        slug
        for mode, count in PROVIDER_CHALLENGES.items()
        for slug in Challenge.objects.filter(is_active=True, mode=mode)
        .order_by("slug")
        .values_list("slug", flat=True)[:count]
    ]
    # (offerings, challenges, rounds): one round for the named providers, so each of their
    # images is a showcase image and the arena's pool stays the simulated provider's (more
    # hidden images would only add near-look-alike placeholders to guard against).
    selections = [([SIMULATED_PROVIDER] if SIMULATED_PROVIDER in serving else [], None, repeat)]
    selections.append((named, sample, 1))
    with serve_in_thread(port=0, profile=demo_profile()) as simulator_url:
        return [
            run_benchmark(
                settings.DATABASE_URL,
                settings.MEDIA_ROOT,
                suite="quick",
                offerings=offerings,
                challenges=challenges,
                repeat=rounds,
                concurrency=64,
                base_url_overrides={p.slug: simulator_url for p in providers},
                progress_stream=io.StringIO(),
                environ=environ,
            )
            for offerings, challenges, rounds in selections
            if offerings
        ]
