"""Figures of the unified report: background-class curves per attack, one axis for all defenses, trade-offs."""
from __future__ import annotations

from typing import Dict

import matplotlib.pyplot as plt

from replication.reporting.plotting import Figure, by_key, draw, percent_axis, save
from replication.runs.results import RunStore
from replication.unified import records
from replication.unified.attacks import ATTACKS
from replication.unified.models import LABELS, MODELS

COLORS = {"baseline": "tab:gray", "background": "tab:green", "dnn": "black", "nr": "tab:blue", "dnr": "tab:red"}
STYLES = {"correct": "-", "other_digit": ":", "detected": "--"}


def background_curves(results: Dict, path) -> None:
    """Part 1: correct / other digit / detected (background) vs eps, baseline and defense, one panel per attack."""
    fig, axes = plt.subplots(2, len(ATTACKS) // 2, figsize=(5 * len(ATTACKS) // 2, 8))
    for ax, attack in zip(axes.T.ravel(), ATTACKS):
        for model, curve in records.curves(results).items():
            eps = [pt.eps for pt in curve[attack]]
            for key, style in STYLES.items():
                if model == "baseline" and key == "detected":
                    continue
                ax.plot(eps, [getattr(pt, key) for pt in curve[attack]], style, marker="o", ms=3, color=COLORS[model],
                        label=f"{model}: {key.replace('_', ' ')}")
        percent_axis(ax, f"{attack} ({ATTACKS[attack][0]})", f"eps ({ATTACKS[attack][0]})", "% of test digits",
                     legend=ax is axes[0][0])
    save(fig, path, dpi=110)


def axis_figure(results: Dict, path) -> None:
    """Part 2: accuracy under the adaptive L2 attack (solid), detection rate (dashed) and the per-sample worst case
    of that attack, its double-initialisation restart and the reject-aware variant (dotted) for every model."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    axis = records.axis(results)
    eps = axis.eps
    for m in MODELS:
        pts = axis.points[m]
        ax.plot(eps, [pt.accuracy for pt in pts], "-", marker="o", ms=3, color=COLORS[m], label=LABELS[m])
        if m in ("background", "nr", "dnr"):
            ax.plot(eps, [pt.detected for pt in pts], "--", color=COLORS[m], lw=1)
        if axis.worst_case:
            ax.plot(eps, axis.worst_case[m], ":", marker="x", ms=3, color=COLORS[m], lw=1)
    title = "MNIST, defense-aware L2 PGD: accuracy (solid), detected (dashed)"
    if axis.worst_case:
        title += ",\nworst case of the paper's attack, its restart and the reject-aware one (dotted)"
    percent_axis(ax, title, "eps (L2)", legend_size=8)
    save(fig, path)


def tradeoff(results: Dict, path) -> None:
    """Part 3: accuracy under attack vs false-reject rate as each model's reject threshold moves."""
    models = list(results["tradeoff"])
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.8), squeeze=False)
    for ax, m in zip(axes[0], models):
        for eps, curve in results["tradeoff"][m].items():
            if eps != "operating_point":
                ax.plot(curve["false_reject"], curve["accuracy"], marker=".", label=f"eps {eps}")
        ax.axvline(results["tradeoff"][m]["operating_point"]["false_reject"], color="k", ls="--", lw=0.8)
        percent_axis(ax, LABELS[m], "false-reject rate on clean digits (%)", "accuracy under attack (%)")
    save(fig, path)


FIGURES = by_key(Figure("curves", "background_curves.png", background_curves, "background-class curves"),
                 Figure("axis", "unified_axis.png", axis_figure, "unified axis"),
                 Figure("tradeoff", "threshold_tradeoff.png", tradeoff, "trade-off"))


def draw_all(results: Dict, store: RunStore) -> Dict[str, str]:
    """All figures, as file names relative to the results folder."""
    return draw(results, store, FIGURES.values())
