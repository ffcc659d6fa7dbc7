"""bench runs without Django: importing it must not pull Django in."""

import subprocess
import sys

from tests.support import REPO_ROOT


def test_importing_bench_leaves_django_and_the_site_out_of_sys_modules():
    code = (
        "import sys, bench, bench.cli, bench.runner, bench.providers, bench.simulator, "
        "bench.stats, bench.store, bench.probe, bench.plan, bench.smoke, bench.pricing, "
        "bench.sizes\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], "
        "sorted(m for m in sys.modules if m.startswith('django'))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'leaderboard'], "
        "sorted(m for m in sys.modules if m.startswith('leaderboard'))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, env={"PATH": ""})
