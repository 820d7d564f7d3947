"""Measured-vs-published rows, verdict rule, and the published data module."""
import pytest

from replication import published
from replication.published import Published
from replication.report import Row, markdown_table, verdict, verdict_counts


def test_verdict_rule():
    p = Published(68.39, "Table V", std=12.5)
    assert verdict(90.0, p) == "within published std"
    assert verdict(95.0, p) == "outside"
    q = Published(99.62, "Table III")
    assert verdict(98.0, q) == "within tolerance"
    assert verdict(90.0, q) == "outside"
    assert verdict(34000, Published(34432, "Table I", unit="images")) == "within tolerance"
    assert verdict(5000, Published(34432, "Table I", unit="images"), comparable=False) == "not comparable"


def test_markdown_table_renders_measured_beside_published():
    rows = [Row("FGS success, digits", 91.0, published.BACKGROUND["table4/fgs/baseline"], 1.5),
            Row("baseline train digits", 51774, published.BACKGROUND["table1/baseline/train_digits"], comparable=False)]
    text = markdown_table(rows)
    assert "| FGS success, digits | 91.00 (1.50) | 92.00 | -1.00 | within tolerance | McCoyd & Wagner 2018, Table IV |" in text
    assert "| baseline train digits | 51,774 | 310,912 |" in text and "not comparable" in text
    assert verdict_counts(rows) == {"within tolerance": 1, "not comparable": 1}


def test_published_numbers_are_complete_and_sourced():
    b = published.BACKGROUND
    for key, pub in b.items():
        assert pub.source and "Table" in pub.source, key
    # Table V rows of one model add up to 100%
    for attack in ("fgs", "fg"):
        assert sum(b[f"table5/{attack}/defense/{c}"].value for c in ("correct", "other_digit", "background")) == pytest.approx(100, abs=0.01)
    assert len(published.KEPT_LETTERS) == 22 and len(published.REMOVED_LETTERS) == 15
    assert not set(published.KEPT_LETTERS) & set(published.REMOVED_LETTERS)


def test_background_report_flags_untrained_models():
    from replication.background.report import model_warnings
    ok = {"correct": {"mean": 99.0}}
    r = {"aggregate": {"clean": {"baseline": ok, "defense": ok}},
         "carlini": {"clean": {"baseline": {"correct": 10.8}, "defense": {"correct": 92.6}}}}
    assert model_warnings(r) == ["digits model (Carlini stage): clean accuracy 10.8%"]
