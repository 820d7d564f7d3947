"""The paper's Tables I, III, IV and V: each one's published numbers and the rows that compare a run with them."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Tuple

from replication.background import records
from replication.evaluation import stats
from replication.evaluation.stats import Interval
from replication.reporting import published
from replication.reporting.published import Published
from replication.reporting.report import Row, exact

P = published.BACKGROUND
MODELS = {"baseline": "digits", "defense": "digits + background"}


def _test_sizes(r: Dict) -> List[int]:
    return [int(s.counts["baseline/test_digits"]) for s in records.splits(r)]


def table1_rows(r: Dict) -> List[Row]:
    same_pool = r["data"]["pool_partition"] == "train" and r["protocol"]["pool_limit"] is None
    return [Row(f"{m} {k.replace('_', ' ')}", exact([s.counts[f"{m}/{k}"] for s in records.splits(r)]),
                P[f"table1/{m}/{k}"], comparable=same_pool)
            for m, k in (("baseline", "train_digits"), ("baseline", "test_digits"), ("defense", "train_digits"),
                         ("defense", "train_letters"), ("defense", "test_digits"))]


def split_values(r: Dict, table: str, model: str, category: str) -> List[float]:
    """A Table III/V rate (%) of each split."""
    return [s.outcomes(table)[model][category] for s in records.splits(r)]


def split_rate(r: Dict, table: str, model: str, category: str) -> Interval:
    """A Table III/V rate over the splits, with its interval (Wilson on the pooled test digits, or t over splits)."""
    return stats.rate(split_values(r, table, model, category), _test_sizes(r), over="splits")


def published_outcomes(key: str, label: str) -> Iterator[Tuple[str, str, str, Published]]:
    """(row label, model, category, published number) of every published outcome of one Table III/V attack."""
    for m, data in MODELS.items():
        for cat in ("correct", "other_digit", "background"):
            pub = P.get(f"{key}/{m}/{cat}")
            if pub is not None:
                yield f"{label}{data}: {cat.replace('_', ' ')}", m, cat, pub


def outcome_rows(r: Dict, table: str, key: str, label: str) -> List[Row]:
    return [Row(text, split_rate(r, table, m, cat), pub) for text, m, cat, pub in published_outcomes(key, label)]


def carlini_success(r: Dict, model: str) -> Interval:
    c = records.carlini(r).attacks[model]
    return stats.wilson(round(c.success_rate / 100.0 * c.n), c.n)


def attack_eps(r: Dict, attack: str) -> str:
    """The eps this run attacked with at `attack` ('fgs' or 'fg'), as the report writes it."""
    return f"{r['protocol'][f'{attack}_eps']:g}"


def table4_rows(r: Dict) -> List[Row]:
    """FGS/FG success is Table V's "other digit" (same measurement, not counted twice); Carlini checks success only."""
    rows = [Row(f"{a.upper()} success, {MODELS[m]}", split_rate(r, a, m, "other_digit"), P[f"table4/{a}/{m}"],
                same_as=f"Table V, {a.upper()} {attack_eps(r, a)}, {MODELS[m]}: other digit")
            for a in ("fgs", "fg") for m in MODELS]
    if records.carlini(r) is not None:
        rows += [Row(f"Carlini L2 success, {MODELS[m]} (checks success only)", carlini_success(r, m),
                     P[f"table4/carlini/{m}"]) for m in MODELS]
    return rows


def outcome_tables(r: Dict) -> List[Tuple[str, str, str]]:
    """(outcome table, published key, row label prefix) of Table III and Table V's two attacks."""
    return [("clean", "table3", ""), ("fgs", "table5/fgs", f"FGS {attack_eps(r, 'fgs')}, "),
            ("fg", "table5/fg", f"FG {attack_eps(r, 'fg')}, ")]


def table3_rows(r: Dict) -> List[Row]:
    return outcome_rows(r, *outcome_tables(r)[0])


def table5_rows(r: Dict) -> List[Row]:
    return [row for args in outcome_tables(r)[1:] for row in outcome_rows(r, *args)]


@dataclass(frozen=True)
class Spread:
    """One published std over splits beside ours: the ratio ours / paper's with its interval (`stats.std_ratio`)."""

    label: str
    published: Published
    ratio: Interval

    @property
    def std(self) -> float:
        """Our std over splits."""
        return self.ratio.estimate * self.published.std

    @property
    def verdict(self) -> str:
        return stats.compare_spread(self.ratio)


def spread_rows(r: Dict) -> List[Spread]:
    """Every Table III/V number published with a std, once the run has >= 2 splits (else none). The baseline's
    "other digit" is 100 - its "correct", the same spread, so it is left out."""
    if len(records.splits(r)) < 2:
        return []
    return [Spread(text, pub, stats.std_ratio(split_values(r, table, m, cat), pub.std))
            for table, key, label in outcome_tables(r) for text, m, cat, pub in published_outcomes(key, label)
            if pub.std is not None and (m, cat) != ("baseline", "other_digit")]


def spread_verdicts(rows: List[Spread]) -> Dict[str, int]:
    """How many spread rows got each verdict, verdicts in alphabetical order."""
    counts = Counter(row.verdict for row in rows)
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's tables: its title, the prefix of its numbers in `published.BACKGROUND`, and what computes
    its rows (measured beside published) from a run's results; `reporting.report.markdown_table` renders them."""

    title: str
    key: str
    rows: Callable[[Dict], List[Row]]

    def published(self) -> Dict[str, Published]:
        return {k: v for k, v in P.items() if k.startswith(self.key)}


TABLES = (PaperTable("Table I: data sizes (per split)", "table1/", table1_rows),
          PaperTable("Table III: clean accuracy, % (mean over splits)", "table3/", table3_rows),
          PaperTable("Table V: weak attacks, % (mean over splits)", "table5/", table5_rows),
          PaperTable("Table IV: attack success rates, %", "table4/", table4_rows))


def all_rows(r: Dict) -> Dict[str, List[Row]]:
    """Every comparison row, grouped by the paper's table."""
    return {t.title: t.rows(r) for t in TABLES}
