"""Measured beside published: one row per number, with its interval, the difference and a verdict."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

from replication.evaluation import stats
from replication.evaluation.stats import Interval
from replication.reporting.published import Published

VERDICT_RULE = stats.VERDICT_RULE
VERDICTS = ("consistent", "inconsistent", "inconclusive", "not comparable")


@dataclass
class Row:
    """One measured number (with its interval) beside its published counterpart.

    `same_as` names the row that holds the same measurement (e.g. Table IV's FGS success is Table V's "other
    digit"): the row is shown, but its verdict is that row's and it is not counted twice.
    """

    label: str
    measured: Interval
    published: Published
    comparable: bool = True
    same_as: Optional[str] = None

    @property
    def difference(self) -> float:
        return self.measured.estimate - self.published.value

    @property
    def band(self) -> tuple:
        return stats.published_band(self.published.value, self.published.std)

    @property
    def verdict(self) -> str:
        if not self.comparable:
            return "not comparable"
        return stats.compare(self.measured, self.band, self.published.unit)


def exact(values: Sequence[float]) -> Interval:
    """A number with no sampling noise (e.g. split sizes): its mean, and its range over splits as the interval."""
    return Interval(sum(values) / len(values), min(values), max(values), len(values), "exact; range over splits")


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f}" if unit != "%" else f"{value:.2f}"


def markdown_table(rows: Iterable[Row]) -> str:
    """Markdown table: quantity | measured [95% interval] | N | published (std) | band | difference | verdict."""
    lines = ["| quantity | measured [95% interval] | N | published (std) | published band | difference | verdict "
             "| source |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p, m = r.published, r.measured
        pub = _fmt(p.value, p.unit) + (f" ({_fmt(p.std, p.unit)})" if p.std is not None else "")
        lo, hi = r.band
        band = f"[{_fmt(lo, p.unit)}, {_fmt(hi, p.unit)}]" if p.std is not None else "the value"
        verdict = f"= {r.same_as}" if r.same_as else r.verdict
        lines.append(f"| {r.label} | {_fmt(m.estimate, p.unit)} [{_fmt(m.low, p.unit)}, {_fmt(m.high, p.unit)}] "
                     f"| {m.n:,} ({m.method}) | {pub} | {band} | {r.difference:+,.2f} | {verdict} | {p.source} |")
    return "\n".join(lines)


def verdict_counts(rows: List[Row]) -> dict:
    """How many rows got each verdict (rows that repeat another row's measurement are not counted)."""
    out: dict = {}
    for r in rows:
        if r.same_as is None:
            out[r.verdict] = out.get(r.verdict, 0) + 1
    return out


def scope_lines(r: dict) -> List[str]:
    """The report's notice for a run restricted to part of its protocol's units (none for a whole run)."""
    left_out = r.get("left_out") or []
    if not left_out:
        return []
    return [f"> **Partial run** of protocol `{r['protocol']['level']}`: it computed only part of the protocol's "
            "units. Left out: " + "; ".join(left_out) + ". Every computed unit follows the protocol exactly (running "
            "the rest later in the same folder reuses them); means and intervals are over the computed units only, "
            "and with a single split or run an interval holds sampling noise, not the spread retraining adds.", ""]
