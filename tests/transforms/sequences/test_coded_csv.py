"""The vectorized CSV path against a plain csv-module reference, and the scipy-free tails against scipy."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.sequences.coded_csv import read_coded_csv
from transforms.sequences.lsa import SequenceError, analyse
from transforms.sequences.tails import chi2_sf, normal_two_sided_p

GROUPS = ("g1", "g2", " g2", "g3", "", "  ", "NA")
CODES = ("A", "B", "C", " A", "B ", "", "Z", "NA")
POSITIONS = ("1", "2", "3", "4", "5", "0", "-1", "12", "+3", " 4", "2.0", "2.5", "", "x", "NA", "nan", "1e1")


def _reference(text: str, codes: tuple[str, ...] | None) -> tuple[str, object]:
    """Row by row with the csv module: ('error', (problem, bad lines)) or ('table', (codes, K×K counts))."""
    rows = list(csv.DictReader(io.StringIO(text)))
    line = {id(row): index + 2 for index, row in enumerate(rows)}

    def bad(problem: str, failing: list[dict]) -> tuple[str, object]:
        return "error", (problem, [line[id(row)] for row in failing])

    if blank := [r for r in rows if r["group_id"].strip() == ""]:
        return bad("have no group_id", blank)
    if blank := [r for r in rows if r["code"].strip() == ""]:
        return bad("have no code", blank)
    codes = codes or tuple(sorted({r["code"].strip() for r in rows}))
    if unknown := [r for r in rows if r["code"].strip() not in codes]:
        return bad("have a code not in the coding scheme", unknown)

    def whole(text: str) -> int | None:
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text.strip()):
            return None
        value = float(text)
        return int(value) if value == math.floor(value) else None

    if fractional := [r for r in rows if whole(r["seq_index"]) is None]:
        return bad("have a seq_index that is not an integer", fractional)
    seen, repeats = set(), []
    for row in rows:
        key = (row["group_id"], whole(row["seq_index"]))
        if key in seen:
            repeats.append(row)
        seen.add(key)
    if repeats:
        return bad("repeat a seq_index", repeats)
    units: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        units[row["group_id"]].append((whole(row["seq_index"]), row["code"].strip()))  # type: ignore[arg-type]
    table = [[0] * len(codes) for _ in codes]
    for events in units.values():
        ordered = [code for _, code in sorted(events)]
        for source, target in itertools.pairwise(ordered):
            table[codes.index(source)][codes.index(target)] += 1
    return "table", (codes, table)


def _csv(rows: list[tuple[str, str, str]], header: tuple[str, ...] = ("group_id", "seq_index", "code")) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(GROUPS), st.sampled_from(POSITIONS), st.sampled_from(CODES)),
                     min_size=1, max_size=30),
       clean=st.booleans(), fixed_codes=st.booleans())
def test_vectorized_parse_agrees_with_a_csv_module_reference(rows, clean, fixed_codes):
    if clean:  # most files are clean: half the examples reach the table (positions still shuffled)
        rows = [(g if g.strip() else "g1", str((7 * i) % 31), c if c.strip() in ("A", "B", "C") else "A")
                for i, (g, _, c) in enumerate(rows)]
    text = _csv(rows)
    codes = ("A", "B", "C") if fixed_codes else None
    kind, expected = _reference(text, codes)
    try:
        events = read_coded_csv(io.BytesIO(text.encode()), codes)
        table = events.pairs().pooled_table(len(events.codes))
    except SequenceError as exc:
        assert kind == "error", f"unexpected error {exc}"
        problem, lines = expected
        shown = ", ".join(map(str, lines[:10])) + (" …" if len(lines) > 10 else "")
        assert f"input: {len(lines)} row(s) {problem}" in str(exc)
        assert str(exc).endswith(f"line(s) {shown}")
        return
    assert kind == "table", f"expected {expected}"
    assert (events.codes, table.tolist()) == expected


def test_missing_and_repeated_columns_and_unreadable_files(tmp_path):
    with pytest.raises(SequenceError, match=r"^input: missing column\(s\) seq_index; expected group_id,seq_index,code$"):
        read_coded_csv(io.BytesIO(b"group_id,code\ng,A\n"))
    with pytest.raises(SequenceError, match=r"column\(s\) code appear more than once"):
        read_coded_csv(io.BytesIO(b"group_id,seq_index,code,code\ng,1,A,B\n"))
    for content, reason in ((b"", "Empty CSV file"), (b"group_id,seq_index,code\ng,1,A,x\n", "Expected 3 columns, got 4"),
                            (b"group_id,seq_index,code\ng\xff,1,A\n", "invalid UTF8")):
        path = tmp_path / "bad.csv"
        path.write_bytes(content)
        with pytest.raises(SequenceError, match=rf"^{re.escape(str(path))}: cannot read CSV: .*{reason}") as caught:
            read_coded_csv(path)
        assert "\n" not in str(caught.value)
    with pytest.raises(SequenceError, match="cannot read CSV"):
        read_coded_csv(tmp_path / "absent.csv")


def test_extra_columns_quotes_and_crlf_are_read_as_text():
    text = b'note,code,seq_index,group_id\r\n"a, b",NA,2,"t,1"\r\nx, A ,1,"t,1"\r\n'
    events = read_coded_csv(io.BytesIO(text))
    assert events.codes == ("A", "NA")  # "NA" is a code, never a missing value
    assert events.pairs().pooled_table(2).tolist() == [[0, 1], [0, 0]]


def test_header_only_file_is_an_empty_analysis():
    events = read_coded_csv(io.BytesIO(b"group_id,seq_index,code\n"))
    assert events.codes == () and events.pairs().pooled_table(0).shape == (0, 0)


def test_normal_tail_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    z = np.concatenate([np.linspace(-40, 40, 40_001), [np.nan, np.inf, -np.inf, 0.0]]).reshape(-1, 5)
    ours, theirs = normal_two_sided_p(z), 2 * stats.norm.sf(np.abs(z))
    assert ours.shape == z.shape
    # Not bit-identical (math.erfc and scipy's cephes differ in the last digits): ≤ 1e-14 relative
    # where |z| < 5, ≤ 5e-13 in the far tail (below 1e-300 only subnormal crumbs), the same NaN cells.
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    near = np.abs(z) < 5
    np.testing.assert_allclose(ours[near], theirs[near], rtol=1e-14)
    np.testing.assert_allclose(ours[~near], theirs[~near], rtol=5e-13, atol=1e-300)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 9, 16, 25, 30, 31, 100, 361, 1936, 199_980])
def test_chi_square_tail_matches_scipy(df):
    stats = pytest.importorskip("scipy.stats")
    spread = math.sqrt(2 * df)
    for x in np.concatenate([np.linspace(1e-6, 3, 30), np.linspace(max(0.0, df - 8 * spread), df + 30 * spread, 200)]):
        expected = float(stats.chi2.sf(x, df))
        # scipy itself is off by up to ~3e-12 at large df (checked against mpmath in the next test).
        assert chi2_sf(float(x), df) == pytest.approx(expected, rel=5e-12, abs=1e-300)
    assert chi2_sf(0.0, df) == 1.0 and math.isnan(chi2_sf(float("nan"), df)) and math.isnan(chi2_sf(1.0, 0))


def test_chi_square_tail_matches_mpmath_at_high_precision():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for df, x in ((1, 0.3), (5, 11.07), (361, 420.5), (10_000, 13_000.0), (199_980, 221_433.4354), (2_000_000, 1_986_000.0)):
        exact = float(mpmath.gammainc(mpmath.mpf(df) / 2, mpmath.mpf(x) / 2, mpmath.inf, regularized=True))
        assert chi2_sf(x, df) == pytest.approx(exact, rel=1e-13)


def test_analysis_p_values_match_scipy_on_the_worked_example():
    stats = pytest.importorskip("scipy.stats")
    freq = np.array([[0, 2, 1], [1, 0, 5], [1, 4, 1]])
    result = analyse(freq, ("A", "B", "C"))
    np.testing.assert_allclose(result.p_values, 2 * stats.norm.sf(np.abs(result.adjusted_residuals)), rtol=1e-14)
    assert result.lr_chi2.p == pytest.approx(float(stats.chi2.sf(result.lr_chi2.value, result.lr_chi2.df)), rel=1e-14)


@pytest.mark.integration
def test_the_lsa_command_imports_neither_pandas_nor_scipy(tmp_path):
    path = tmp_path / "coded.csv"
    path.write_text("group_id,seq_index,code\ng,1,A\ng,2,B\ng,3,A\nh,1,B\nh,2,B\n")
    probe = (
        "import argparse, sys\n"
        "from transforms.sequences import cli\n"
        "parser = argparse.ArgumentParser()\n"
        "cli.add_parsers(parser.add_subparsers(dest='command'))\n"
        "for extra in ([], ['--format', 'json', '--homogeneity']):\n"
        "    assert cli.cmd_lsa(parser.parse_args(['lsa', sys.argv[1], *extra])) == 0\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'pyarrow.compute', 'pyarrow.dataset', 'duckdb', 'matplotlib')"
        " if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "[]"
    assert "A -> B" in done.stdout or "significant sequences" in done.stdout
