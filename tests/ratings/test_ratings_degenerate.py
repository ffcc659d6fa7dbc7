"""Data without a finite maximum-likelihood fit: the documented rules, never NaN or a crash."""

import json

import numpy as np
import pytest
from scipy.optimize import fsolve

from leaderboard.ratings import aggregate_votes, fit_bradley_terry, pairwise_matrices, rate


def votes_from_counts(table):
    model_a, model_b, outcome = [], [], []
    for (a, b), outcomes in table.items():
        for value, n in outcomes.items():
            model_a += [a] * n
            model_b += [b] * n
            outcome += [value] * n
    return model_a, model_b, outcome


def assert_clean(board):
    """Every number finite, and the whole result serialisable as strict JSON."""
    json.dumps(board.to_dict(), allow_nan=False)
    for row in board.rows:
        values = [row.rating, row.ci_low, row.ci_high, row.ci_median, row.win_rate]
        assert np.isfinite(values).all(), row


def test_no_votes_rates_nothing_and_says_so():
    board = rate([], [], [], bootstrap=100)
    assert board.rows == () and board.unrated == ()
    assert any("No votes" in note for note in board.notes)
    assert_clean(board)


def test_models_without_votes_are_listed_as_unrated():
    board = rate([], [], [], models=["solo"], bootstrap=100)
    assert board.rows == ()
    assert [(u.model, u.reason) for u in board.unrated] == [("solo", "no_votes")]

    board = rate(["A", "A"], ["B", "B"], ["a", "b"], models=["A", "B", "C"], bootstrap=100)
    assert [r.model for r in board.rows] == ["A", "B"]
    assert [(u.model, u.reason, u.votes) for u in board.unrated] == [("C", "no_votes", 0)]
    assert_clean(board)


def test_votes_of_a_model_against_itself_are_ignored_and_counted_in_a_note():
    board = rate(["A", "A", "B"], ["A", "B", "A"], ["a", "a", "a"], bootstrap=0)
    assert "1 votes of a model against itself were ignored." in board.notes
    assert board.row("A").votes == 2


def test_all_ties_give_every_model_the_centre_with_zero_width_intervals():
    table = {("A", "B"): {"tie": 5}, ("B", "C"): {"tie": 3, "both_bad": 2}, ("A", "C"): {"tie": 1}}
    board = rate(*votes_from_counts(table), bootstrap=200)
    for row in board.rows:
        assert row.rating == pytest.approx(1000.0, abs=1e-9)
        assert row.ci_low == pytest.approx(1000.0, abs=1e-6)
        assert row.ci_high == pytest.approx(1000.0, abs=1e-6)
        assert row.rank == 1 and row.status == "mle" and row.win_rate == 0.5
    assert_clean(board)


ONLY_WINS = {
    ("A", "B"): {"a": 6},
    ("A", "C"): {"a": 2},
    ("B", "C"): {"a": 5, "b": 3, "tie": 2},
}


def test_a_model_that_only_wins_gets_virtual_ties_and_the_exact_fit_of_that_augmented_data():
    """A won all 8 of its votes, so its MLE is infinite. Rule: A (outside the largest
    strongly connected part {B, C}) gets 2 virtual ties spread over its pairs by votes:
    6/8 * 2 = 1.5 ties with B, 2/8 * 2 = 0.5 with C. The augmented scores are
    A-B: A 6.75 of 7.5; A-C: A 2.25 of 2.5; B-C: B 6 of 10, solved here with fsolve.
    """

    def p(r_i, r_j):
        return 1 / (1 + 10 ** ((r_j - r_i) / 400))

    def score_equations(x):
        r_a, r_b = x
        return [
            7.5 * p(r_a, r_b) + 2.5 * p(r_a, 0) - (6.75 + 2.25),
            7.5 * p(r_b, r_a) + 10 * p(r_b, 0) - (0.75 + 6),
        ]

    r_a, r_b = fsolve(score_equations, [0.0, 0.0], xtol=1e-13)
    expected = np.array([r_a, r_b, 0.0])
    expected += 1000 - expected.mean()

    board = rate(*votes_from_counts(ONLY_WINS), bootstrap=300, seed=1)
    assert [board.row(m).rating for m in "ABC"] == pytest.approx(expected, abs=0.01)
    assert board.row("A").status == "prior"
    assert board.row("B").status == board.row("C").status == "mle"
    assert any(
        "No finite maximum-likelihood rating exists for 1 models" in n and ": A." in n
        for n in board.notes
    )
    assert board.rows[0].model == "A"
    assert_clean(board)


def test_a_model_that_only_loses_is_handled_by_the_same_rule():
    table = {("Z", "B"): {"b": 4}, ("Z", "C"): {"b": 3}, ("B", "C"): {"a": 4, "b": 4}}
    board = rate(*votes_from_counts(table), bootstrap=300, seed=1)
    assert board.row("Z").status == "prior"
    assert board.rows[-1].model == "Z"
    assert board.row("B").rating == pytest.approx(board.row("C").rating, abs=1e-6)
    assert_clean(board)


def test_a_strict_order_with_no_upsets_is_still_rated_in_that_order():
    table = {("A", "B"): {"a": 3}, ("B", "C"): {"a": 3}, ("A", "C"): {"a": 3}}
    board = rate(*votes_from_counts(table), bootstrap=200)
    assert [r.model for r in board.rows] == ["A", "B", "C"]
    assert board.rows[0].rating > board.rows[1].rating > board.rows[2].rating
    assert {r.status for r in board.rows} == {"prior", "mle"}
    assert_clean(board)


def test_a_two_model_sweep_is_rated_by_the_virtual_ties_alone():
    """B never won: 5 votes for A plus 2 virtual ties -> A scores 6 of 7, so
    R_A - R_B = 400 log10(6 / 1) = 311.26."""
    board = rate(["A"] * 5, ["B"] * 5, ["a"] * 5, bootstrap=100)
    difference = board.row("A").rating - board.row("B").rating
    assert difference == pytest.approx(400 * np.log10(6), abs=0.01)
    assert difference == pytest.approx(311.26, abs=0.01)
    assert_clean(board)


def test_disconnected_groups_rate_the_group_with_most_votes_and_list_the_rest():
    table = {
        ("A", "B"): {"a": 20, "b": 10},
        ("B", "C"): {"a": 5, "b": 7},
        ("X", "Y"): {"a": 8, "b": 8},
    }
    board = rate(*votes_from_counts(table), bootstrap=100)
    assert sorted(r.model for r in board.rows) == ["A", "B", "C"]
    assert sorted((u.model, u.reason) for u in board.unrated) == [
        ("X", "disconnected"),
        ("Y", "disconnected"),
    ]
    assert any("2 groups" in note and "3 models, 42 votes" in note for note in board.notes)
    assert np.mean([r.rating for r in board.rows]) == pytest.approx(1000.0)
    assert_clean(board)


def test_a_model_whose_only_votes_are_dropped_both_bad_votes_is_unrated():
    table = {("A", "B"): {"a": 3, "b": 2}, ("A", "C"): {"both_bad": 4}}
    board = rate(*votes_from_counts(table), both_bad="drop", bootstrap=100)
    (unrated,) = board.unrated
    assert (unrated.model, unrated.reason, unrated.votes) == ("C", "no_votes", 4)
    assert any("4 'both bad' votes were left out" in note for note in board.notes)
    assert board.row("A").both_bad == 4
    assert_clean(board)


def test_anchoring_to_an_unrated_model_is_an_error():
    with pytest.raises(ValueError, match="anchor model 'Y' is not rated"):
        rate(
            *votes_from_counts({("A", "B"): {"a": 2, "b": 1}, ("X", "Y"): {"a": 1}}),
            anchor=("Y", 1000.0),
            bootstrap=0,
        )


def test_bootstrap_rounds_that_lose_the_mle_use_the_rule_and_stay_finite():
    """With 2-3 votes per pair, many resamples contain a model that only won or lost."""
    table = {
        ("A", "B"): {"a": 2, "b": 1},
        ("B", "C"): {"a": 1, "b": 2},
        ("A", "C"): {"a": 1, "tie": 1},
    }
    board = rate(*votes_from_counts(table), bootstrap=500, seed=3)
    assert any("bootstrap rounds" in note for note in board.notes)
    assert all(r.status == "mle" for r in board.rows)
    assert all(r.ci_low < r.rating < r.ci_high for r in board.rows)
    assert_clean(board)


def test_matrices_mark_pairs_without_votes_and_unrated_models_as_missing():
    table = {
        ("A", "B"): {"a": 6, "b": 2, "tie": 2},
        ("B", "C"): {"a": 5, "b": 3},
        ("X", "Y"): {"a": 1},
    }
    counts = aggregate_votes(*votes_from_counts(table))
    fit = fit_bradley_terry(counts)
    matrices = pairwise_matrices(counts, fit)
    a, b, c, x = (counts.models.index(m) for m in "ABCX")
    assert matrices.win_rate[a, b] == pytest.approx(0.7)
    assert matrices.win_rate[b, a] == pytest.approx(0.3)
    assert matrices.votes[a, b] == matrices.votes[b, a] == 10
    assert np.isnan(matrices.win_rate[a, c]) and matrices.votes[a, c] == 0
    assert np.isnan(matrices.predicted[a, x])
    assert matrices.predicted[a, b] + matrices.predicted[b, a] == pytest.approx(1.0)
    assert matrices.predicted[a, a] == pytest.approx(0.5)
