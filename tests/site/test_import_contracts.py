"""The layers hold: `lint-imports` keeps the contracts in pyproject.toml.

Layers only point down: the site (`leaderboard`) on `bench`, and inside the site the
entry points on top and the pure rating engine at the bottom. These tests run the
real `lint-imports` on this tree, and on a copy with one forbidden import added, so a
contract that could never break would be noticed.
"""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

from tests.support import REPO_ROOT

LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(root):
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def contracts():
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_are_kept():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken_contract"),
    [
        ("leaderboard/ratings/elo.py", "import django", "The rating engine is pure"),
        ("leaderboard/ratings/elo.py", "import pandas", "The rating engine is pure"),
        ("leaderboard/ratings/votes.py", "import leaderboard.models", "rating engine"),
        ("bench/stats.py", "import leaderboard.models", "bench never imports the site"),
        ("bench/stats.py", "import django.db", "bench runs without Django"),
        ("leaderboard/models/catalog.py", "import leaderboard.pages", "entry points on top"),
        ("leaderboard/gateway/routing.py", "import leaderboard.arena", "entry points on top"),
    ],
)
def test_one_forbidden_import_breaks_its_contract(tmp_path, module, line, broken_contract):
    for name in ("leaderboard", "bench"):
        shutil.copytree(
            REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / module, "a") as f:
        f.write(f"\n{line}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(broken_contract in row for row in broken), result.stdout


def test_the_pure_engine_contract_forbids_every_runtime_dependency_but_numpy_and_scipy():
    (pure,) = [c for c in contracts() if c["name"].startswith("The rating engine is pure")]
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        requirements = tomllib.load(f)["project"]["dependencies"]
    distributions = {re.match(r"[A-Za-z0-9_.-]+", r)[0].lower() for r in requirements}
    imported_as = {
        name
        for name, dists in importlib.metadata.packages_distributions().items()
        if {d.lower() for d in dists} & distributions and not name.startswith("_")
    }
    allowed = {"numpy", "scipy"}
    missing = sorted(imported_as - allowed - set(pure["forbidden_modules"]))
    assert not missing, f"add to the pure-engine contract's forbidden_modules: {missing}"


def test_every_module_of_the_site_has_a_layer():
    # The site's layers contract is exhaustive: lint-imports fails on a module left out.
    (site,) = [c for c in contracts() if c.get("containers") == ["leaderboard"]]
    assert site["exhaustive"] is True
