"""Figures of the background-class report: eps curves, adversarial gallery, letter rates."""
from __future__ import annotations

from typing import Dict, List, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from replication.background import records  # noqa: E402
from replication.background.gallery import attack_images  # noqa: E402
from replication.reporting import published  # noqa: E402
from replication.reporting.plotting import Figure, by_key, draw  # noqa: E402
from replication.runs.results import RunStore  # noqa: E402

_STYLE = {"correct": "-", "other_digit": "--", "background": ":"}
_COLOR = {"baseline": "tab:blue", "defense": "tab:red"}


def eps_curves(results: Dict, path) -> None:
    """Correct / other digit / background vs eps for FGS and FG, baseline and defense on the same axes."""
    p = results["protocol"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, attack, grid, paper_eps in ((axes[0], "fgs", p["fgs_grid"], p["fgs_eps"]),
                                         (axes[1], "fg", p["fg_grid"], p["fg_eps"])):
        curves = records.aggregate(results).curves[attack]
        for model in ("baseline", "defense"):
            for cat, style in _STYLE.items():
                if model == "baseline" and cat == "background":
                    continue
                mean = np.array([pt[cat]["mean"] for pt in curves[model]])
                std = np.array([pt[cat]["std"] for pt in curves[model]])
                ax.plot(grid, mean, style, color=_COLOR[model], marker="o", ms=3,
                        label=f"{model}: {cat.replace('_', ' ')}")
                ax.fill_between(grid, mean - std, mean + std, color=_COLOR[model], alpha=0.1)
        ax.axvline(paper_eps, color="gray", lw=0.8)
        ax.set_title(f"{attack.upper()} ({'L-inf' if attack == 'fgs' else 'L2'}); paper eps = {paper_eps}")
        ax.set_xlabel("eps")
        ax.set_ylabel("% of test digits")
        ax.set_ylim(-2, 102)
    axes[1].legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def gallery(rows: List[Dict], path) -> None:
    """Rows of (title, images, captions): originals and adversarials with predicted labels (Fig. 2/3)."""
    ncols = max(len(r["images"]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.3 * ncols, 1.5 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(row["images"]):
                ax.imshow(np.asarray(row["images"][c]).reshape(28, 28), cmap="gray", vmin=-0.5, vmax=0.5)
                ax.set_title(row["captions"][c], fontsize=7)
        axes[r][0].text(-0.1, 0.5, row["title"], transform=axes[r][0].transAxes, ha="right", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def letter_rates(selection: records.LetterSelection, threshold: float, path) -> None:
    """Measured letter rate per letter, colored by the paper's kept/removed decision."""
    rates = selection.rates
    order = sorted(rates, key=lambda c: rates[c])
    colors = ["tab:green" if c in published.KEPT_LETTERS else "tab:red" for c in order]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.bar(range(len(order)), [100 * rates[c] for c in order], color=colors)
    ax.axhline(100 * threshold, color="k", lw=0.8)
    ax.set_xticks(range(len(order)), order)
    ax.set_ylabel("% classified as a letter")
    ax.set_ylim(min(60, 100 * min(rates.values()) - 5), 100.5)
    ax.set_title("Measured letter rates (green: kept by the paper, red: removed by the paper); line = threshold")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


FIGURES = by_key(
    Figure("curves", "eps_curves.png", eps_curves, "eps curves",
           "Correct / other digit / background (% of test digits, mean and std band over splits) against eps; "
           "the vertical line marks the paper's eps."),
    Figure("gallery", "gallery.png", None, "gallery",  # drawn from the attacked images, not the results
           "Originals and adversarials (split 0) with the predicted label (`bg` = background); Carlini rows show "
           "one source digit attacked towards each other digit (`tN` = target)."),
    Figure("letters", "letter_rates.png", None, "letter rates"))  # drawn from the letter selection


def draw_all(results: Dict, store: RunStore, weak: Optional[List[Dict]], protocol) -> Dict[str, str]:
    """Draw every figure into the run folder (the gallery from the `gallery` unit's rows, `weak`, and the Carlini
    stage's); returns {figure: file name}."""
    files = draw(results, store, [FIGURES["curves"]])
    rows = attack_images(weak, records.carlini(results))
    if rows:
        files["gallery"] = FIGURES["gallery"].file
        gallery(rows, store.path(files["gallery"]))
    selection = records.letter_selection(results)
    if selection is not None:
        files["letters"] = FIGURES["letters"].file
        letter_rates(selection, protocol.selection_threshold, store.path(files["letters"]))
    return files
