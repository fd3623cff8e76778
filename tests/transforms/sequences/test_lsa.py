"""Lag-sequential analysis: the reference's worked example, boundaries, edge cases and oracles."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from transforms.sequences.coded_csv import CodedEvents, read_coded_csv
from transforms.sequences.homogeneity import Homogeneity
from transforms.sequences.lsa import SequenceError, analyse, lag_pairs, structural_zero_mask
from xapi_ingest.app.cli.main import main

CODES = ("A", "B", "C")
# lsa-method.md §7 (from pyseqlsa's README): two threads, no pair across them.
EXAMPLE = {"G1": "ABCBCBC", "G2": "CCBACABCBC"}


def _frame(sequences: dict[str, str]) -> pd.DataFrame:
    rows = [(group, index + 1, code) for group, text in sequences.items() for index, code in enumerate(text)]
    return pd.DataFrame(rows, columns=["group_id", "seq_index", "code"])


def _events(frame: pd.DataFrame, codes=CODES) -> CodedEvents:
    """Through the CSV contract path: the frame as the file an analyst would hand over."""
    return read_coded_csv(io.BytesIO(frame.to_csv(index=False).encode()), codes)


def _result(frame: pd.DataFrame, codes=CODES, lag=1, zeros=None, allison_liker=False):
    events = _events(frame, codes)
    pairs = events.pairs(lag)
    return analyse(pairs.pooled_table(len(codes)), codes, lag, structural_zero_mask(codes, zeros),
                   pairs.event_counts if allison_liker else None)


def test_reference_worked_example():
    result = _result(_frame(EXAMPLE))
    assert result.freq.tolist() == [[0, 2, 1], [1, 0, 5], [1, 4, 1]]
    assert result.n_transitions == 15
    np.testing.assert_allclose(result.expected, [[0.4, 1.2, 1.4], [0.8, 2.4, 2.8], [0.8, 2.4, 2.8]], atol=1e-12)
    np.testing.assert_allclose(result.transition_prob, [[0, 2 / 3, 1 / 3], [1 / 6, 0, 5 / 6], [1 / 6, 4 / 6, 1 / 6]])
    np.testing.assert_allclose(result.adjusted_residuals, [
        [-0.759555, 1.054093, -0.517549],
        [0.310087, -2.581989, 2.324174],
        [0.310087, 1.721326, -1.901597],
    ], atol=5e-7)
    np.testing.assert_allclose(result.yules_q, [
        [-1.0, 0.6, -0.333333],
        [0.230769, -1.0, 0.891892],
        [0.230769, 0.75, -0.818182],
    ], atol=5e-7)
    assert result.lr_chi2.value == pytest.approx(10.08848, abs=5e-6)
    assert result.lr_chi2.df == 4
    assert result.lr_chi2.p == pytest.approx(0.03896, abs=5e-6)
    (significant,) = result.significant()
    assert (significant.source, significant.target) == ("B", "C")
    assert significant.z == pytest.approx(2.324174, abs=5e-7)
    assert significant.p == pytest.approx(0.020, abs=5e-4)


def test_allison_liker_is_the_labelled_opt_in_with_reference_numbers():
    result = _result(_frame(EXAMPLE), allison_liker=True)
    assert result.residual_form == "allison-liker"
    np.testing.assert_allclose(result.adjusted_residuals, [
        [-0.883523, 1.252991, -0.524846],
        [-0.078312, -2.248967, 2.213033],
        [-0.086577, 2.210068, -2.049854],
    ], atol=5e-7)
    assert {(c.source, c.target) for c in result.significant()} == {("B", "C"), ("C", "B")}


def test_shuffled_rows_give_identical_results():
    frame = _frame(EXAMPLE)
    expected = _result(frame).as_dict()
    for seed in range(5):
        shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
        assert json.dumps(_result(shuffled).as_dict()) == json.dumps(expected)


def test_no_transition_crosses_a_unit_boundary():
    # Concatenating G1 and G2 would add C→C at the join; the correct table has C→C = 1.
    assert _result(_frame(EXAMPLE)).freq[2, 2] == 1
    # Interleaved ids and overlapping positions: each unit "AB" alone has no B→A.
    frame = _frame({"u1": "AB", "u2": "AB", "u3": "AB"}).sample(frac=1, random_state=3)
    freq = _result(frame).freq
    assert freq[1, 0] == 0 and freq[0, 1] == 3 and freq.sum() == 3


def test_lag_two_pairs_within_units():
    pairs = lag_pairs(np.array([0, 0, 0, 1, 1]), np.array([1, 2, 3, 1, 2]), np.array([0, 1, 2, 2, 0]), 3, lag=2)
    assert list(zip(pairs.antecedent.tolist(), pairs.consequent.tolist(), strict=True)) == [(0, 2)]


def test_one_event_units_and_an_empty_table_do_not_break():
    with_singletons = _result(_frame({**EXAMPLE, "solo": "A", "solo2": "C"}))
    assert with_singletons.freq.tolist() == _result(_frame(EXAMPLE)).freq.tolist()
    empty = _result(_frame({"solo": "A", "solo2": "B"}))
    assert empty.n_transitions == 0
    assert np.isnan(empty.adjusted_residuals).all() and math.isnan(empty.lr_chi2.value)
    assert empty.as_dict()["adjusted_residuals"] == [[None] * 3] * 3


def test_undefined_cells_are_nan_not_zero():
    # C never occurs: its row and column have no margin, so their z is undefined.
    result = _result(_frame({"g": "ABABBA"}))
    assert np.isnan(result.adjusted_residuals[2]).all() and np.isnan(result.adjusted_residuals[:, 2]).all()
    assert np.isnan(result.transition_prob[2]).all()
    assert np.isfinite(result.adjusted_residuals[:2, :2]).all()
    assert result.lr_chi2.df == 1  # only the codes that occur count


def test_structural_zeros_match_a_poisson_glm_oracle():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(11)
    codes = ("C1", "C2", "C3", "C4", "C5")
    freq = rng.integers(1, 40, size=(5, 5))
    np.fill_diagonal(freq, 0)
    result = analyse(freq, codes, structural_zeros=structural_zero_mask(codes, "diagonal"))
    assert result.residual_form == "quasi-independence"

    rows, cols = np.nonzero(~np.eye(5, dtype=bool))
    design = np.column_stack([np.ones(rows.size)] + [(rows == i).astype(float) for i in range(1, 5)]
                             + [(cols == j).astype(float) for j in range(1, 5)])
    fit = sm.GLM(freq[rows, cols], design, family=sm.families.Poisson()).fit(tol=1e-14, maxiter=200)
    np.testing.assert_allclose(result.expected[rows, cols], fit.fittedvalues, rtol=1e-8)
    np.testing.assert_allclose(result.adjusted_residuals[rows, cols], fit.get_influence().resid_studentized, atol=1e-7)
    assert np.isnan(np.diag(result.adjusted_residuals)).all() and (np.diag(result.expected) == 0).all()
    assert result.lr_chi2.df == (5 - 1) ** 2 - 5
    assert result.lr_chi2.value == pytest.approx(fit.deviance, rel=1e-8)


def test_without_structural_zeros_the_exact_leverage_reduces_to_the_margin_form():
    from transforms.sequences.structural import exact_leverage

    freq = np.array([[0, 2, 1], [1, 0, 5], [1, 4, 1]])
    result = _result(_frame(EXAMPLE))
    rows, cols, total = freq.sum(1), freq.sum(0), freq.sum()
    h = exact_leverage(result.expected, np.ones((3, 3), dtype=bool))
    np.testing.assert_allclose(1 - h, np.outer(1 - rows / total, 1 - cols / total), atol=1e-12)


def test_observed_count_in_a_structural_zero_is_an_error():
    with pytest.raises(SequenceError, match=r"structural-zero cells: C>C \(1\)"):
        _result(_frame(EXAMPLE), zeros="diagonal")


def test_unknown_codes_fail_with_a_clear_message():
    with pytest.raises(SequenceError, match=r"8 row\(s\) have a code not in the coding scheme \(A, B\): 'C'; line\(s\) 4, 6"):
        _result(_frame(EXAMPLE), codes=("A", "B"))


def test_repeated_position_in_a_unit_is_an_error():
    frame = pd.DataFrame({"group_id": ["g", "h", "g"], "seq_index": [1, 1, 1], "code": ["A", "B", "A"]})
    with pytest.raises(SequenceError, match=r"1 row\(s\) repeat a seq_index .*: line\(s\) 4$"):
        _result(frame)
    with pytest.raises(SequenceError, match="share a position"):  # the library entry point checks too
        lag_pairs(np.array([5, 5, 7]), np.array([2, 2, 1]), np.array([0, 1, 0]), 2)


def test_homogeneity_matches_a_direct_computation():
    frame = _frame({**EXAMPLE, "G3": "AABBCCABCA"})
    events = _events(frame)
    pairs = events.pairs()
    pooled = pairs.pooled_table(3).astype(float)
    whole = Homogeneity(3)
    whole.add_pairs(pairs.unit, pairs.antecedent, pairs.consequent)
    in_parts, by_table = Homogeneity(3), Homogeneity(3)  # units streamed in two batches / as tables
    for batch in (pairs.unit < 1, pairs.unit >= 1):
        in_parts.add_pairs(pairs.unit[batch], pairs.antecedent[batch], pairs.consequent[batch])
    for unit in np.unique(pairs.unit):
        mine = pairs.unit == unit
        by_table.add_table(np.histogram2d(pairs.antecedent[mine], pairs.consequent[mine], bins=3, range=[[0, 3], [0, 3]])[0])
    expected_value = 0.0
    for unit in np.unique(pairs.unit):
        mine = np.zeros((3, 3))
        np.add.at(mine, (pairs.antecedent[pairs.unit == unit], pairs.consequent[pairs.unit == unit]), 1)
        for i, j in zip(*np.nonzero(mine), strict=True):
            expected_value += 2 * mine[i, j] * math.log((mine[i, j] / mine[i].sum()) / (pooled[i, j] / pooled[i].sum()))
    for accumulator in (whole, in_parts, by_table):
        chi = accumulator.test(pooled)
        assert chi.value == pytest.approx(expected_value, rel=1e-10)
        assert chi.df == 3 * 2 * 2


def test_cli_json_shape(tmp_path, capsys):
    path = tmp_path / "coded.csv"
    _frame(EXAMPLE).sample(frac=1, random_state=1).to_csv(path, index=False)
    assert main(["lsa", str(path), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["codes", "lag", "n_transitions", "freq", "expected", "transition_prob",
                              "adjusted_residuals", "p_values", "yules_q", "lr_chi2", "significant"]
    assert document["codes"] == ["A", "B", "C"] and document["lag"] == 1 and document["n_transitions"] == 15
    assert document["freq"] == [[0, 2, 1], [1, 0, 5], [1, 4, 1]]
    assert set(document["lr_chi2"]) == {"value", "df", "p"}
    assert [(s["from"], s["to"]) for s in document["significant"]] == [("B", "C")]
    assert document["significant"][0]["z"] == pytest.approx(2.324174, abs=5e-7)

    assert main(["lsa", str(path), "--format", "json", "--codes", "A,B,C,D"]) == 0
    with_unused = json.loads(capsys.readouterr().out)
    assert with_unused["adjusted_residuals"][3] == [None] * 4  # NaN is written as null


def test_cli_reports_bad_input(tmp_path, capsys):
    path = tmp_path / "coded.csv"
    path.write_text("group_id,seq_index,code\ng,1,A\ng,2,\n")
    assert main(["lsa", str(path)]) == 2
    assert "line(s) 3" in capsys.readouterr().err
    assert main(["lsa", str(tmp_path / "missing.csv")]) == 2
    path.write_text("group_id,seq_index,code\ng,1,A\ng,2,Z\n")
    assert main(["lsa", str(path), "--codes", "A,B"]) == 2
    assert "'Z'" in capsys.readouterr().err
