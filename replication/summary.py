"""`python -m replication.summary RESULTS.json ...`: the README's result paragraphs, regenerated from run results
(the same functions the reports use; no number is typed by hand)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np


def partial(r: Dict) -> str:
    """', partial run: left out ...' for a run restricted to part of its protocol, else nothing."""
    return f", partial run: left out {'; '.join(r['left_out'])}" if r.get("left_out") else ""


def background(r: Dict) -> List[str]:
    from replication.background import report, tables

    rows = [row for t in tables.TABLES for row in t.rows(r)]
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.verdict_counts(rows).items()))
    lines = [f"**Background class** (`{r['protocol']['level']}`, seed {r['seed']}, pool By Merge "
             f"`{r['data']['pool_partition']}`, letters `{r['data']['kept_letters']}` "
             f"({'measured' if r['letter_selection'] else 'published'}){partial(r)}): verdicts {counts}.", "",
             "| quantity | measured [95% interval] | published (std) | verdict |", "|---|---|---|---|"]
    for row in rows:
        if row.same_as or row.published.unit != "%":
            continue
        pub = f"{row.published.value:.2f}" + (f" ({row.published.std:.2f})" if row.published.std is not None else "")
        lines.append(f"| {row.label} | {row.measured.text()} | {pub} | {row.verdict} |")
    return lines + [""] + report.carlini_claim(r)


def dnr(r: Dict) -> List[str]:
    from replication.dnr import claims, records

    lines = []
    for name, ds in records.datasets(r).items():
        acc = {m: claims.accuracy_intervals(ds, m) for m in claims.MODELS}
        eps = ds.aggregate.eps
        n = acc["dnn"][0].n
        lines += [f"**DNR, {name}** (`{r['protocol']['level']}`, seed {r['seed']}, N = {n} test samples{partial(r)}): "
                  "accuracy % "
                  "[95% interval] under the paper's attack", "", "| eps | DNN | NR | DNR |", "|---|---|---|---|"]
        lines += [f"| {e:g} | " + " | ".join(acc[m][i].text(1) for m in claims.MODELS) + " |"
                  for i, e in enumerate(eps)]
        lines += ["", "| claim | measured | verdict |", "|---|---|---|"]
        lines += [f"| {c.claim} | {c.measured} | {c.verdict}" + (f" (to decide: {c.need})" if c.need else "") + " |"
                  for c in claims.judge(name, ds)]
        for row in claims.line_search(ds):
            lines.append(f"- line search, {row['model'].upper()} eps {row['eps']:g}: "
                         f"Algorithm 1 {row['paper'].text(1)}, "
                         f"secml's steps {row['secml'].text(1)}, difference {row['secml_minus_paper'].text(1)}")
        lines.append("")
    return lines


def unified(r: Dict) -> List[str]:
    from replication.unified import claims, records, report
    from replication.unified.models import LABELS, MODELS

    y, axis = np.asarray(r["y"]), records.axis(r)
    acc = {m: claims.accuracy_intervals(axis, m, y) for m in MODELS}
    lines = [f"**Unified axis** (`{r['protocol']['level']}`, seed {r['seed']}, N = {len(y)} test digits): worst-case "
             "accuracy % [95% interval]", "", "| eps | " + " | ".join(LABELS[m] for m in MODELS) + " |",
             "|---" * (len(MODELS) + 1) + "|"]
    lines += [f"| {e:g} | " + " | ".join(acc[m][i].text(0) for m in MODELS) + " |" for i, e in enumerate(axis.eps)]
    d = claims.dnr_minus_nr(axis, y)
    lines += ["", f"DNR - NR (worst case, paired, mean over eps > 0): {d['mean'].text(1)} points: {d['verdict']}.", "",
              "| attacks | eps | weak: detected % | adaptive: detected % | weak: other digit % | adaptive: other "
              "digit % | adaptive - weak / 2 | collapse |", "|---|---|---|---|---|---|---|---|"]
    return lines + report.collapse_rows(r) + [""] + report.style_lines(r)


def main(argv=None) -> int:
    for path in (argv or sys.argv[1:]):
        r = json.loads(Path(path).read_text())
        print("\n".join({"background": background, "dnr": dnr, "unified": unified}[r["experiment"]](r)))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
