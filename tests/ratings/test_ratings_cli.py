"""`python -m leaderboard.ratings`: good files give JSON or a table, bad files exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

GOOD_CSV = """model_a,model_b,winner,category,timestamp
A,B,model_a,anime,2024-02-12T10:00:00Z
B,A,model_b,anime,2024-02-12T10:01:00Z
A,C,tie,portrait,2024-02-12T10:02:00Z
C,B,tie (bothbad),anime,2024-02-12T10:03:00Z
B,C,model_a,portrait,2024-02-12T10:04:00Z
C,A,model_b,anime,2024-02-12T10:05:00Z
A,B,model_b,portrait,2024-02-12T10:06:00Z
"""


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "leaderboard.ratings", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path, text, name="votes.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_file_prints_one_json_object_sorted_by_rating(tmp_path):
    result = run_cli(write(tmp_path, GOOD_CSV), "--json", "--bootstrap", "200", "--seed", "3")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    ratings = payload["ratings"]
    assert [r["model"] for r in ratings] == ["A", "B", "C"]
    keys = {"model", "rating", "ci_low", "ci_high", "rank", "votes", "wins", "losses", "ties"}
    assert all(keys <= set(r) for r in ratings)
    assert [r["rating"] for r in ratings] == sorted((r["rating"] for r in ratings), reverse=True)
    first = ratings[0]
    assert (first["votes"], first["wins"], first["losses"], first["ties"]) == (5, 3, 1, 1)
    assert first["provisional"] is True
    assert sum(r["rating"] for r in ratings) / 3 == pytest.approx(1000.0, abs=1e-3)
    assert payload["unrated"] == [] and payload["votes"] == 7


def test_options_select_a_category_anchor_a_model_and_drop_both_bad(tmp_path):
    path = write(tmp_path, GOOD_CSV)
    result = run_cli(
        path,
        "--json",
        "--category",
        "anime",
        "--anchor",
        "B=1200",
        "--both-bad",
        "drop",
        "--bootstrap",
        "50",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["votes"] == 4
    rows = {r["model"]: r for r in payload["ratings"]}
    assert rows["B"]["rating"] == pytest.approx(1200.0, abs=1e-3)
    assert rows["C"]["both_bad"] == 1 and payload["settings"]["both_bad"] == "drop"


def test_without_json_a_readable_table_and_a_summary_line_are_printed(tmp_path):
    result = run_cli(write(tmp_path, GOOD_CSV), "--bootstrap", "50")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["rank", "model", "rating"]
    assert lines[1].split()[1] == "A"
    assert lines[-1].startswith("7 votes, 3 models rated, 0 unrated")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model_a,model_b\nA,B\n", "missing column(s) winner"),
        ("model_a,model_b,winner\nA,B,model_a\nA,B,A wins\n", "line 3: unknown winner 'A wins'"),
        ("", "empty file"),
        ("model_a,model_b,winner\n", "no votes"),
        ("model_a,model_b,winner\nA,,model_a\n", "line 2: empty model name"),
    ],
)
def test_a_bad_file_exits_2_with_a_one_line_message(tmp_path, text, message):
    result = run_cli(write(tmp_path, text), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_exits_2_with_a_one_line_message(tmp_path):
    result = run_cli(tmp_path / "nowhere.csv")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere.csv'}: no such file"
    ]


def test_an_unknown_category_or_anchor_exits_2(tmp_path):
    path = write(tmp_path, GOOD_CSV)
    result = run_cli(path, "--category", "sculpture")
    assert result.returncode == 2 and "no votes in category 'sculpture'" in result.stderr
    result = run_cli(path, "--anchor", "Z=1000")
    assert result.returncode == 2 and "anchor model 'Z' is not rated" in result.stderr


def test_importing_the_engine_loads_neither_django_nor_pandas():
    code = (
        "import sys, leaderboard.ratings; print('django' in sys.modules, 'pandas' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
