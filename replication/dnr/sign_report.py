"""The sign study's report (`replication.dnr.sign`): per cell DNR - NR, per factor its effect, and what moves it."""
from __future__ import annotations

from typing import Dict, List

from replication.evaluation.stats import Interval

FACTOR_WORDS = {"epochs": "network epochs", "svm_train": "SVM training digits", "layers": "feature layers"}
ATTACKS = {"paper": "the paper's attack", "restart": "with the restart"}


def interval(d: Dict) -> Interval:
    return d if isinstance(d, Interval) else Interval(**d)


def moved(effect: Interval) -> str:
    """The rule: a factor moves DNR - NR when the paired interval of its effect excludes 0."""
    return "moves it" if effect.low > 0 or effect.high < 0 else "no effect shown"


def headline(results: Dict) -> str:
    """One line: each factor's effect on DNR - NR, the largest under the paper's attack first, with the rule's
    verdict, under the paper's attack and (where the results hold it) with the restart."""
    design, effects = results["study"], results["effects"]
    order = sorted((f for f in effects["paper"] if f in FACTOR_WORDS),
                   key=lambda f: -abs(interval(effects["paper"][f]).estimate))
    n = interval(effects["paper"][order[0]]).n
    parts = []
    for attack in (a for a in ATTACKS if a in effects):
        words = "; ".join(f"{FACTOR_WORDS[f]} ({design[f][0]} -> {design[f][1]}) "
                          f"{interval(effects[attack][f]).text(1)} points, {moved(interval(effects[attack][f]))}"
                          for f in order)
        parts.append(f"{ATTACKS[attack]}: {words}")
    return f"effect on DNR - NR, {n} paired test digits, " + "; ".join(parts)


def extreme_cell(cells: Dict, attack: str) -> str:
    """The cell whose DNR - NR lies farthest from the others' mean, and the range the others span."""
    values = {name: interval(c[attack]["dnr_minus_nr"]).estimate for name, c in cells.items()}

    def distance(name: str) -> float:
        rest = [v for k, v in values.items() if k != name]
        return abs(values[name] - sum(rest) / len(rest))
    far = max(values, key=distance)
    rest = [v for k, v in values.items() if k != far]
    return (f"{ATTACKS[attack]}, cell {far} lies farthest from the others ({values[far]:.1f} points; the other "
            f"{len(rest)} span {min(rest):.1f} to {max(rest):.1f})")


def cell_order(cell: Dict, design: Dict) -> tuple:
    """The design's order: epochs, then SVM digits, then layers, each in the order of its levels."""
    return tuple(list(design[f]).index(cell[f]) for f in FACTOR_WORDS)


def section(results: Dict) -> List[str]:
    """The study as a report section."""
    design = results["study"]
    eps = ", ".join(f"{e:g}" for e in design["eps_grid"][1:])
    lines = ["A paired 2 x 2 x 2 on MNIST, one run per cell (`python -m replication dnr-sign`): network epochs "
             f"{design['epochs'][0]} vs {design['epochs'][1]}, SVM training digits {design['svm_train'][0]:,} vs "
             f"{design['svm_train'][1]:,}, the paper's layers vs the authors' code's. All cells attack the same "
             f"{design['test']} test digits (eps {eps}) and set theta on the same validation digits; each layer "
             "set's SVM parameters are chosen once (the protocol's cross-validation at the larger epochs and SVM "
             "count) and held in all its cells, since between runs of one protocol the cross-validation's choice "
             "moves DNR - NR by itself. DNR - NR is averaged over eps > 0, in points, paired per digit "
             "(bootstrap).", "",
             "| cell | epochs | SVM digits | layers | theta NR / DNR | DNR - NR, paper's attack | with the restart |",
             "|---|---|---|---|---|---|---|"]
    for name, c in sorted(results["cells"].items(), key=lambda kv: cell_order(kv[1], design)):
        theta = f"{c['theta']['nr']:.3f} / {c['theta']['dnr']:.3f}"
        lines.append(f"| {name} | {c['epochs']} | {c['svm_train']:,} | {c['layers']} | {theta} | "
                     f"{interval(c['paper']['dnr_minus_nr']).text(1)} | "
                     f"{interval(c['restart']['dnr_minus_nr']).text(1)} |")
    lines += ["", "Main effects (cells at the higher level minus cells at the lower, per digit, averaged over the "
              "other factors; rule: an effect moves DNR - NR when its interval excludes 0):", "",
              "| factor | levels | effect, paper's attack | with the restart |", "|---|---|---|---|"]
    for factor, (low, high) in ((f, design[f]) for f in FACTOR_WORDS):
        cells = [interval(results["effects"][a][factor]) for a in ATTACKS]
        lines.append(f"| {FACTOR_WORDS[factor]} | {low} -> {high} | "
                     + " | ".join(f"{e.text(1)} ({moved(e)})" for e in cells) + " |")
    joint = [k for k in results["effects"]["paper"] if " x " in k]
    if joint:
        lines += ["", "Interactions (how much one factor's effect depends on the others' levels, on the same scale; "
                  "same rule):", "", "| factors | paper's attack | with the restart |", "|---|---|---|"]
        for key in joint:
            cells = [interval(results["effects"][a][key]) for a in ATTACKS]
            lines.append(f"| {' x '.join(FACTOR_WORDS[f] for f in key.split(' x '))} | "
                         + " | ".join(f"{e.text(1)} ({moved(e)})" for e in cells) + " |")
    lines += ["", "Where the effects come from: " + "; ".join(extreme_cell(results["cells"], a) for a in ATTACKS) + "."]
    check = results.get("ledger_agreement")
    if check:
        diffs = check["defenses_digest_differences"]
        models = "match run 0's digest" if not diffs else f"differ from run 0's ({diffs[0]})"
        lines += ["", f"Cross-check: cell {check['cell']} is the DNR ledger's run 0 on its first {design['test']} "
                  f"digits. Its NR and DNR {models}; {check['same_outcomes']} of {check['outcomes']} per-digit "
                  "outcomes (both attacks, every eps) are run 0's."]
    lines += ["", f"In one line: {headline(results)}.", "", "SVM parameters held per layer set: " + "; ".join(
        f"{layers}: layers {p['layers']}, combiner {p['combiner']}, NR {p['nr']} ({p['source']})"
        for layers, p in results["params"].items()), ""]
    return lines


def render(results: Dict) -> str:
    """The study's own report."""
    return "\n".join([f"# Why the sign of DNR - NR moves ({results['study']['level']})", ""] + section(results))
