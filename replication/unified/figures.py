"""Figures of the unified report: background-class curves per attack, one axis for all defenses, trade-offs."""
from __future__ import annotations

from typing import Dict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from replication.results import RunStore  # noqa: E402
from replication.unified.attacks import ATTACKS  # noqa: E402
from replication.unified.models import LABELS, MODELS  # noqa: E402

COLORS = {"baseline": "tab:gray", "background": "tab:green", "dnn": "black", "nr": "tab:blue", "dnr": "tab:red"}
STYLES = {"correct": "-", "other_digit": ":", "detected": "--"}


def background_curves(results: Dict, path) -> None:
    """Part 1: correct / other digit / detected (background) vs eps, baseline and defense, one panel per attack."""
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    for ax, attack in zip(axes.T.ravel(), ATTACKS):
        for model, curve in results["curves"].items():
            eps = [pt["eps"] for pt in curve[attack]]
            for key, style in STYLES.items():
                if model == "baseline" and key == "detected":
                    continue
                ax.plot(eps, [pt[key] for pt in curve[attack]], style, marker="o", ms=3, color=COLORS[model],
                        label=f"{model}: {key.replace('_', ' ')}")
        ax.set_title(f"{attack} ({ATTACKS[attack][0]})")
        ax.set_xlabel(f"eps ({ATTACKS[attack][0]})")
        ax.set_ylabel("% of test digits")
        ax.set_ylim(-2, 102)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def axis_figure(results: Dict, path) -> None:
    """Part 2: accuracy under the adaptive L2 attack (solid) and detection rate (dashed) for every model."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    eps = results["axis"]["eps"]
    for m in MODELS:
        pts = results["axis"]["points"][m]
        ax.plot(eps, [pt["accuracy"] for pt in pts], "-", marker="o", ms=3, color=COLORS[m], label=LABELS[m])
        if m in ("background", "nr", "dnr"):
            ax.plot(eps, [pt["detected"] for pt in pts], "--", color=COLORS[m], lw=1)
    ax.set_title("MNIST, defense-aware L2 PGD: accuracy (solid), detected (dashed)")
    ax.set_xlabel("eps (L2)")
    ax.set_ylabel("%")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def tradeoff(results: Dict, path) -> None:
    """Part 3: accuracy under attack vs false-reject rate as each model's reject threshold moves."""
    models = list(results["tradeoff"])
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.8), squeeze=False)
    for ax, m in zip(axes[0], models):
        for eps, curve in results["tradeoff"][m].items():
            if eps != "operating_point":
                ax.plot(curve["false_reject"], curve["accuracy"], marker=".", label=f"eps {eps}")
        ax.axvline(results["tradeoff"][m]["operating_point"]["false_reject"], color="k", ls="--", lw=0.8)
        ax.set_title(LABELS[m])
        ax.set_xlabel("false-reject rate on clean digits (%)")
        ax.set_ylabel("accuracy under attack (%)")
        ax.set_ylim(-2, 102)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_all(results: Dict, store: RunStore) -> Dict[str, str]:
    """All figures, as file names relative to the results folder."""
    names = {"curves": "background_curves.png", "axis": "unified_axis.png", "tradeoff": "threshold_tradeoff.png"}
    background_curves(results, store.path(names["curves"]))
    axis_figure(results, store.path(names["axis"]))
    tradeoff(results, store.path(names["tradeoff"]))
    return names
