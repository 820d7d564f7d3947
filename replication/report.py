"""Measured beside published: one row per number, with the difference and a verdict."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional

from replication.published import Published

TOLERANCE_RULE = (
    "Verdicts: **within published std** when |measured - published| <= 2 x the published std "
    "(where the paper gives one); else **within tolerance** when the difference is at most "
    "2 percentage points for percentages, or 5% of the published value for counts; else **outside**. **not comparable** marks rows whose protocol differs from "
    "the paper's in a way that changes the number (e.g. another EMNIST partition as pool).")


@dataclass
class Row:
    """One measured number beside its published counterpart."""

    label: str
    measured: float
    published: Published
    measured_std: Optional[float] = None
    comparable: bool = True

    @property
    def difference(self) -> float:
        return self.measured - self.published.value

    @property
    def verdict(self) -> str:
        return verdict(self.measured, self.published, self.comparable)


def tolerance(pub: Published) -> float:
    """Allowed absolute difference for `pub` when its std is not given or exceeded."""
    if pub.unit == "%":
        return 2.0
    return 0.05 * abs(pub.value)


def verdict(measured: float, pub: Published, comparable: bool = True) -> str:
    """The verdict of TOLERANCE_RULE."""
    if not comparable:
        return "not comparable"
    diff = abs(measured - pub.value)
    if pub.std is not None and diff <= 2 * pub.std:
        return "within published std"
    if diff <= tolerance(pub):
        return "within tolerance"
    return "outside"


def _fmt(value: float, unit: str, std: Optional[float] = None) -> str:
    text = f"{value:,.0f}" if unit != "%" else f"{value:.2f}"
    if std is not None:
        text += f" ({std:.2f})" if unit == "%" else f" ({std:,.0f})"
    return text


def markdown_table(rows: Iterable[Row]) -> str:
    """Markdown table: quantity | measured (std) | published (std) | difference | verdict | source."""
    lines = ["| quantity | measured (std) | published (std) | difference | verdict | source |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        p = r.published
        lines.append(f"| {r.label} | {_fmt(r.measured, p.unit, r.measured_std)} | {_fmt(p.value, p.unit, p.std)} "
                     f"| {r.difference:+,.2f} | {r.verdict} | {p.source} |")
    return "\n".join(lines)


def verdict_counts(rows: List[Row]) -> dict:
    """How many rows got each verdict."""
    out: dict = {}
    for r in rows:
        out[r.verdict] = out.get(r.verdict, 0) + 1
    return out
