"""Pairwise rating differences with bootstrap intervals, and the verdict in words."""

import pytest

from leaderboard.ratings.differences import compare, verdict, worst


def votes(wins_a: int, wins_b: int, a="fal", b="replicate"):
    return [a] * (wins_a + wins_b), [b] * (wins_a + wins_b), ["a"] * wins_a + ["b"] * wins_b


def test_an_even_record_is_no_detectable_difference():
    comparison = compare(*votes(100, 100), bootstrap=500)
    (difference,) = comparison.differences
    assert difference.ci_low < 0 < difference.ci_high and not difference.is_detectable
    assert difference.points == pytest.approx(0, abs=1e-6)
    assert worst(comparison) is None
    assert verdict(comparison).startswith("No detectable difference")


def test_a_clear_record_names_the_worse_one_and_its_win_probability():
    comparison = compare(*votes(160, 40), bootstrap=500)
    (difference,) = comparison.differences
    assert (difference.better, difference.worse) == ("fal", "replicate")
    assert difference.is_detectable and difference.ci_low > 0
    # 160 of 200: the maximum-likelihood win probability is 0.8, i.e. 400 log10(4) =
    # 240.8 Elo points.
    assert difference.win_probability == pytest.approx(0.8, abs=1e-4)
    assert difference.points == pytest.approx(240.8, abs=0.1)
    assert worst(comparison) == "replicate"
    text = verdict(comparison, label=str.title)
    assert text.startswith(
        "Replicate is worse than Fal: voters preferred Fal in 80% of head-to-heads (241 Elo"
    )


def test_swapping_sides_changes_nothing():
    a, b, outcome = votes(120, 80)
    swapped = compare(b, a, ["b" if o == "a" else "a" for o in outcome], bootstrap=300)
    original = compare(a, b, outcome, bootstrap=300)
    assert original.differences[0].points == pytest.approx(swapped.differences[0].points)
    assert original.differences[0].better == swapped.differences[0].better == "fal"


def test_the_difference_interval_is_narrower_than_the_two_intervals_suggest():
    # Three offerings, one worse: the worse one's difference to the best is detectable
    # even where the separate rating intervals could still overlap.
    a = ["x"] * 150 + ["x"] * 150 + ["y"] * 150
    b = ["y"] * 150 + ["z"] * 150 + ["z"] * 150
    outcome = ["a"] * 75 + ["b"] * 75 + ["a"] * 95 + ["b"] * 55 + ["a"] * 95 + ["b"] * 55
    comparison = compare(a, b, outcome, bootstrap=500)
    assert worst(comparison) == "z"
    by_pair = {(d.better, d.worse): d for d in comparison.differences}
    assert by_pair[("x", "z")].is_detectable and by_pair[("y", "z")].is_detectable
    assert not any(d.is_detectable for (p, q), d in by_pair.items() if "z" not in (p, q))


def test_one_contestant_is_not_a_comparison():
    assert verdict(compare([], [], [], bootstrap=10)) == "Not enough votes to compare yet."
