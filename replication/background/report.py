"""Markdown report of the background-class run: every measured number beside the published one."""
from __future__ import annotations

from typing import Dict, List

from replication.background import figures, letters, records
from replication.background.assembly import BACKGROUND
from replication.background.tables import MODELS, P, all_rows, carlini_success, spread_rows, spread_verdicts
from replication.evaluation import stats
from replication.reporting import deviations, published
from replication.reporting.report import VERDICT_RULE, markdown_table, scope_lines, verdict_counts
from replication.runs import protocols

PAPER = protocols.background("paper")
NOT_IN_SCOPE = "Not computed: this run's scope leaves out the Carlini-Wagner stage."
CARLINI_COST_MARGIN = 0.10  # "no costlier": the defense's mean L2 at most 10% above the baseline's


def carlini_claim(r: Dict) -> List[str]:
    """Section VI.B's claim (the background class does not stop or detect strong attacks), judged on success,
    detection and the L2 distances of both models, each with its interval."""
    c = records.carlini(r)
    if c is None:
        return [NOT_IN_SCOPE, ""]
    base, dfn = c.attacks["baseline"].per_attack, c.attacks["defense"].per_attack
    if base is None or dfn is None:
        return ["(per-attack outcomes not recorded in this run)", ""]
    both = base.success & dfn.success
    detected = dfn.pred == BACKGROUND
    det = stats.wilson(int(detected.sum()), len(detected))
    published_rates = " / ".join(f"{P[f'table4/carlini/{m}'].value:g}%" for m in MODELS)
    lines = [f"Table IV's Carlini row ({published_rates}) cannot tell a right attack from a wrong one, and the paper "
             "gives no distances; the claim it supports is that the background class neither stops nor detects a "
             "strong attack. Judged on what was measured:", "",
             "| quantity | measured [95% interval] | N | verdict |", "|---|---|---|---|"]
    for m in MODELS:
        s = carlini_success(r, m)
        lines.append(f"| success on {MODELS[m]} | {s.text()} | {s.n} | {stats.above(s, 95.0)} (above 95%) |")
    lines.append(f"| adversarials the defense classifies as background | {det.text()} | {det.n} | "
                 f"{stats.at_most(det, 5.0)} (at most 5%) |")
    if both.any():
        l2_b, l2_d = base.l2[both], dfn.l2[both]
        diff = stats.bootstrap_mean(l2_d - l2_b, scale=1.0)
        allowed = CARLINI_COST_MARGIN * float(l2_b.mean())
        verdict = stats.at_most(diff, allowed)
        for name, v in (("digits", l2_b), ("digits + background", l2_d)):
            iv = stats.bootstrap_mean(v, scale=1.0)
            lines.append(f"| mean L2, {name} (pairs where both succeed) | {iv.text(3)} | {iv.n} | |")
        lines.append(f"| mean L2 difference, defense - baseline (paired) | {diff.text(3)} | {diff.n} | {verdict} "
                     f"(no costlier: at most {100 * CARLINI_COST_MARGIN:.0f}% of the baseline's {l2_b.mean():.3f}) |")
    return lines + [""]


def _header(r: Dict) -> List[str]:
    p = r["protocol"]
    lines = ["# Background class defense (McCoyd & Wagner 2018): replication report", ""]
    if r["data"]["warning"]:
        lines += [f"> **WARNING: {r['data']['warning']}**", ""]
    lines += scope_lines(r)
    if p["level"] != "paper":
        lines += [f"> **Protocol `{p['level']}`**: not the published protocol `paper`; every difference is listed "
                  "under \"Deviations from the paper\".", ""]
    lines += [f"- protocol: `{p['level']}`; seed {r['seed']}; device: {r['device']}",
              f"- pool: EMNIST By Merge `{r['data']['pool_partition']}` ({r['data']['pool_size']:,} images), "
              f"from {r['data']['source']}",
              f"- background letters used: `{r['data']['kept_letters']}` "
              f"({'measured' if r['letter_selection'] else 'published'} selection)",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()), ""]
    return lines


def _letters(r: Dict) -> List[str]:
    s = records.letter_selection(r)
    if s is None:
        return ["## Confusing-letter selection", "", "Skipped (`letters=published`): the paper's set was used.", ""]
    a = s.agreement
    lines = ["## Confusing-letter selection (Section IV.A)", "",
             f"Data: {s.data}, {s.samples:,} samples; {r['protocol']['selection_folds']}-fold CV x "
             f"{r['protocol']['selection_repeats']} repeats, {r['protocol']['selection_epochs']} epochs; keep letters "
             f"classified as letters >= {100 * r['protocol']['selection_threshold']:.0f}% of the time.", "",
             f"- measured kept ({len(s.kept)}): `{s.kept}`",
             f"- published kept ({len(published.KEPT_LETTERS)}): `{published.KEPT_LETTERS}`; "
             f"removed: `{published.REMOVED_LETTERS}`",
             f"- agreement: {a['agree']} of {a['of']} letters get the paper's decision; kept only here: "
             f"{_letter_list(a['kept_only_measured'])}; kept only by the paper: "
             f"{_letter_list(a['kept_only_published'])}",
             f"- rank agreement (independent of the threshold): {_rank_agreement(s.rates)} of the paper's "
             f"{len(published.REMOVED_LETTERS)} removed letters are among the {len(published.REMOVED_LETTERS)} "
             "lowest measured rates", "",
             ]
    if s.partial:
        lines[2:2] = [f"**Provisional**: {s.trainings} of the {s.of} fold trainings. The kept set below applies the "
                      "threshold to the rates so far; the interval column says which letters more folds could still "
                      "move.", ""]
    if s.counts is None:  # a selection from before the counts: rates only
        lines += ["| letter | measured % as letter | paper | here |", "|---|---|---|---|"]
        for c, rate in sorted(s.rates.items(), key=lambda kv: -kv[1]):
            here = "kept" if c in s.kept else "removed"
            lines.append(f"| {c} | {100 * rate:.2f} | {letters.paper_decision(c)} | {here} |")
        return lines + [""]
    return lines + _letter_verdicts(s, r["protocol"]["selection_threshold"])


def _letter_list(chars: str) -> str:
    """Letters in code quotes, or "none" (empty backticks render as two stray characters)."""
    return f"`{chars}`" if chars else "none"


def _letter_verdicts(s: records.LetterSelection, threshold: float) -> List[str]:
    """Per letter: its rate with the interval, the decision the interval allows, and the paper's decision judged."""
    judgements = letters.judged(s.counts, threshold)
    rows = [f"| {c} | {letters.rate_interval(s.counts[c]).text()} | {s.counts[c]['distinct']:,} | "
            f"{letters.paper_decision(c)} | {judgements[c][0]} | {judgements[c][1]} |"
            for c in sorted(s.rates, key=lambda c: -s.rates[c])]
    verdicts = letters.verdict_counts(judgements)
    return ["The paper's decision per letter, judged: " + ", ".join(f"{k} {n}" for k, n in verdicts.items())
            + f" of {len(rows)}. Rule: a letter is kept when the 95% Wilson interval of its rate lies wholly above "
            f"{100 * threshold:g}%, removed when wholly below, undecided otherwise; the paper's decision is supported "
            "when ours matches it, contradicted when ours is the other, inconclusive when ours is undecided. N is the "
            "letter's distinct test samples: the repeats test the same samples again and narrow nothing.", "",
            "| letter | % as letter [95% interval] | N | paper | decided here | verdict |",
            "|---|---|---|---|---|---|"] + rows + [""]


def _rank_agreement(rates: Dict[str, float]) -> int:
    n = len(published.REMOVED_LETTERS)
    lowest = sorted(rates, key=lambda c: rates[c])[:n]
    return len(set(lowest) & set(published.REMOVED_LETTERS))


def _carlini(r: Dict) -> List[str]:
    c, p = records.carlini(r), r["protocol"]["carlini"]
    if c is None:
        return ["## Carlini-Wagner L2 (Section VI.B)", "", NOT_IN_SCOPE, ""]
    lines = ["## Carlini-Wagner L2 (Section VI.B)", "",
             f"Models trained on {c.data} (train: {c.train_counts['baseline']:,} digits; defense "
             f"{c.train_counts['defense']:,} images). {c.sources} correctly classified test digits, targets: "
             f"{c.targets}. Attack: our fixed CleverHans CW L2, {p['binary_search_steps']} binary-search steps x "
             f"{p['max_iterations']} iterations, lr {p['learning_rate']}, initial const {p['initial_const']}, "
             f"confidence {p['confidence']}. Success = classified as the target digit.", "",
             "| model | clean correct % | attacks | success % | as background % | mean L2 (successful) | median L2 |",
             "|---|---|---|---|---|---|---|"]
    for m, name in MODELS.items():
        a = c.attacks[m]
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {name} | {c.clean[m]['correct']:.2f} | {a.n} | {a.success_rate:.2f} | "
                     f"{a.outcomes['background']:.2f} | {fmt(a.l2_mean)} | {fmt(a.l2_median)} |")
    return lines + [""]


MIN_CLEAN_ACCURACY = 90.0


def model_warnings(r: Dict) -> List[str]:
    """Models whose clean accuracy is too low for their attack results to mean anything."""
    found = []
    for m, name in MODELS.items():
        acc = records.aggregate(r).clean[m]["correct"]["mean"]
        if acc < MIN_CLEAN_ACCURACY:
            found.append(f"{name} model (splits): clean accuracy {acc:.1f}%")
        c = records.carlini(r)
        acc = c.clean[m]["correct"] if c is not None else MIN_CLEAN_ACCURACY
        if acc < MIN_CLEAN_ACCURACY:
            found.append(f"{name} model (Carlini stage): clean accuracy {acc:.1f}%")
    return found


def render(r: Dict) -> str:
    """The whole report (of a run stopped in its letter selection: `render_selection`)."""
    if records.stopped_in_selection(r):
        return render_selection(r)
    lines = _header(r)
    bad = model_warnings(r)
    if bad:
        lines += [f"> **MODEL CHECK FAILED** (clean accuracy < {MIN_CLEAN_ACCURACY:.0f}%; attack numbers on these "
                  "models are meaningless, e.g. too few training steps for batch norm's moving statistics): "
                  + "; ".join(bad), ""]
    groups = all_rows(r)
    every = [row for rows in groups.values() for row in rows]
    lines += ["## Summary of verdicts", "", ", ".join(f"{v}: {n}" for v, n in verdict_counts(every).items()), "",
              VERDICT_RULE, ""]
    for title, rows in groups.items():
        lines += [f"## {title}", "", markdown_table(rows), ""]
    lines += spread_section(r)
    l2 = records.aggregate(r).l2_mean
    lines += [f"Mean L2 of the weak attacks' perturbations (after clipping): FGS {l2['fgs']['baseline']:.2f} / "
              f"{l2['fgs']['defense']:.2f}, FG {l2['fg']['baseline']:.2f} / {l2['fg']['defense']:.2f} "
              f"(baseline / defense); the paper chose FG's eps {PAPER.fg_eps:g} to match FGS {PAPER.fgs_eps:g} in L2.",
              ""]
    lines += _carlini(r) + ["### The paper's claim on strong attacks, judged with intervals", ""] + carlini_claim(r)
    lines += _letters(r)
    lines += ["## Figures", ""] + [line for fig in figures.FIGURES.values() for line in fig.markdown(r["figures"])]
    lines += deviations.section(deviation_items(r), r["protocol"]["level"])
    lines += ["## Wall time per stage (seconds, when computed)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in r["stage_seconds"].items()]
    if r["resumed_units"]:
        lines += ["", f"Resumed from an earlier run: {len(r['resumed_units'])} finished units were loaded, "
                      "not recomputed."]
    lines += ["", "## Protocol (verbatim)", "", "```", _protocol_text(r["protocol"]), "```", ""]
    return "\n".join(lines)


def spread_section(r: Dict) -> List[str]:
    """Our std over splits beside the paper's (Table V gives one per number), judged by `stats.SPREAD_RULE`."""
    rows = spread_rows(r)
    head = "## Spread over splits: our std beside the paper's"
    if not rows:
        return [head, "", "Needs at least 2 splits: one split's std is not a spread over retrainings.", ""]
    counts = spread_verdicts(rows)
    lines = [head, "", "Verdicts: " + ", ".join(f"{v}: {n}" for v, n in counts.items()) + ".", "",
             stats.SPREAD_RULE, "", "| quantity | our std (splits) | published std (splits) | ratio [95% interval] | "
             "verdict | source |", "|---|---|---|---|---|---|"]
    lines += [f"| {row.label} | {row.std:.2f} ({row.ratio.n}) | {row.published.std:.2f} ({stats.PUBLISHED_SPLITS}) "
              f"| {row.ratio.text()} | {row.verdict} | {row.published.source} |" for row in rows]
    return lines + ["", "The baseline's \"other digit\" is 100 - its \"correct\" (no background class): the same "
                        "spread, shown once.", ""]


def render_selection(r: Dict) -> str:
    """The report of a run stopped in its letter selection (`--folds`: provisional; `--splits 0`: final): the
    selection and the time each fold training took."""
    lines = _header(r) + _letters(r)
    lines += ["## Figures", ""] + figures.FIGURES["letters"].markdown(r["figures"])
    lines += deviations.section(deviation_items(r), r["protocol"]["level"])
    seconds = list(r["stage_seconds"].values())
    lines += ["## Wall time per fold training (seconds)", "",
              f"Mean {sum(seconds) / len(seconds):,.0f} s over {len(seconds)} fold trainings.", "",
              "| fold | seconds |", "|---|---|"] + [f"| {k} | {v:.0f} |" for k, v in r["stage_seconds"].items()]
    lines += ["", "## Protocol (verbatim)", "", "```", _protocol_text(r["protocol"]), "```", ""]
    return "\n".join(lines)


def deviation_items(r: Dict) -> List[str]:
    """Protocol fields that differ from `paper`, and the data facts that differ from the paper's."""
    items = deviations.protocol_items(protocols.background("paper").to_dict(), r["protocol"],
                                       deviations.BACKGROUND_METHOD_FIELDS)
    d = r["data"]
    if d["pool_partition"] != "train":
        items.insert(0, f"**data**: the pool is EMNIST By Merge `{d['pool_partition']}` ({d['pool_size']:,} "
                        "images), not `train`: Table I is not comparable and every model sees ~6x fewer images")
    selection, cw = records.letter_selection(r), records.carlini(r)
    for stage, info in (("letter selection", selection and selection.data), ("Carlini stage", cw and cw.data)):
        if info and "Balanced" not in info.split("(")[0]:
            items.insert(1, f"**data**: the {stage} runs on a stand-in for EMNIST Balanced: {info}")
    return items


def _protocol_text(p: Dict) -> str:
    import json
    return json.dumps(p, indent=2)
