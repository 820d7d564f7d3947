"""Measured-vs-published rows, the verdict rule, and the published data module."""
import pytest

from replication.evaluation.stats import Interval, wilson
from replication.reporting import published
from replication.reporting.published import Published
from replication.reporting.report import Row, exact, markdown_table, verdict_counts


def test_row_verdicts_follow_the_rule():
    p = Published(68.39, "Table V", std=12.5)
    assert Row("a", Interval(70.0, 66.0, 74.0, 6000, "t"), p).verdict == "consistent"
    assert Row("a", Interval(95.0, 93.0, 97.0, 6000, "t"), p).verdict == "inconsistent"
    assert Row("a", Interval(55.6, 0.0, 100.0, 6000, "t"), p).verdict == "inconclusive"
    assert Row("a", Interval(98.98, 98.9, 99.06, 30000, "t"), Published(99.62, "Table III")).verdict == "inconsistent"
    counts = Published(34432, "Table I", unit="images")
    assert Row("n", exact([34400, 34460]), counts).verdict == "consistent"
    assert Row("n", exact([5000, 5000]), counts, comparable=False).verdict == "not comparable"


def test_markdown_table_and_counts_skip_repeated_measurements():
    other = wilson(910, 1000)
    rows = [Row("FGS 0.25, digits: other digit", other, published.BACKGROUND["table5/fgs/baseline/other_digit"]),
            Row("FGS success, digits", other, published.BACKGROUND["table4/fgs/baseline"],
                same_as="Table V, FGS 0.25, digits: other digit"),
            Row("baseline train digits", exact([51774, 51774]), published.BACKGROUND["table1/baseline/train_digits"],
                comparable=False)]
    text = markdown_table(rows)
    assert "| FGS 0.25, digits: other digit | 91.00 [89.07, 92.62] | 1,000 (Wilson) | 91.74 (1.92) |" in text
    assert "= Table V, FGS 0.25, digits: other digit" in text
    assert "| baseline train digits | 51,774 [51,774, 51,774] |" in text and "not comparable" in text
    assert verdict_counts(rows) == {rows[0].verdict: 1, "not comparable": 1}  # Table IV's copy is not counted


def test_published_numbers_are_complete_and_sourced():
    b = published.BACKGROUND
    for key, pub in b.items():
        assert pub.source and "Table" in pub.source, key
    # Table V rows of one model add up to 100%
    for attack in ("fgs", "fg"):
        rows = [b[f"table5/{attack}/defense/{c}"].value for c in ("correct", "other_digit", "background")]
        assert sum(rows) == pytest.approx(100, abs=0.01)
    assert len(published.KEPT_LETTERS) == 22 and len(published.REMOVED_LETTERS) == 15
    assert not set(published.KEPT_LETTERS) & set(published.REMOVED_LETTERS)


def test_background_report_flags_untrained_models():
    from replication.background.records import Aggregate, Carlini
    from replication.background.report import model_warnings
    ok = {"correct": {"mean": 99.0}}
    r = {"aggregate": Aggregate({}, {"baseline": ok, "defense": ok}, {}, {}, {}, {}),
         "carlini": Carlini("", {}, {"baseline": {"correct": 10.8}, "defense": {"correct": 92.6}}, 0, "", {})}
    assert model_warnings(r) == ["digits model (Carlini stage): clean accuracy 10.8%"]


def test_a_partial_dnr_run_says_how_many_runs_it_computed():
    from replication.dnr.report import runs_text
    assert runs_text(2, 5) == "2 of 5 run(s)" and runs_text(5, 5) == "5 run(s)"


def test_spread_rows_put_our_std_over_splits_beside_the_papers():
    """On the ledger's background run (>= 2 splits): one row per Table V number published with a std, the
    baseline's "other digit" (100 - "correct") left out; one split gives no row and says why."""
    import json
    from pathlib import Path

    import numpy as np

    from replication.background import records, report, tables
    r = json.loads((Path(__file__).parents[1] / "reports/background/paper-published-letters/results.json").read_text())
    rows = {row.label: row for row in tables.spread_rows(r)}
    assert len(rows) == 8 and "FGS 0.25, digits: other digit" not in rows
    values = [s.outcomes("fgs")["defense"]["background"] for s in records.splits(r)]
    row = rows["FGS 0.25, digits + background: background"]
    assert row.std == pytest.approx(np.std(values, ddof=1))
    published_std = tables.P["table5/fgs/defense/background"].std
    assert row.ratio.estimate == pytest.approx(row.std / published_std) and row.ratio.n == len(values)
    assert f"| {row.ratio.text()} | {row.verdict} |" in "\n".join(report.spread_section(r))
    r["splits"] = r["splits"][:1]
    assert tables.spread_rows(r) == [] and "Needs at least 2 splits" in "\n".join(report.spread_section(r))


def test_letter_agreement_names_no_letter_as_none():
    """An empty "kept only here" set reads "none", not an empty pair of backticks; a set reads in code quotes."""
    import json
    from pathlib import Path

    from replication.background import report
    r = json.loads((Path(__file__).parents[1] / "reports/background/paper/results.json").read_text())
    r["letter_selection"]["agreement"].update(kept_only_measured="", kept_only_published="FPT")
    line = next(x for x in report._letters(r) if x.startswith("- agreement"))
    assert "kept only here: none;" in line and "kept only by the paper: `FPT`" in line and "``" not in line
