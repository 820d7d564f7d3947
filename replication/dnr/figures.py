"""Figures of the DNR report: security evaluation curves (Fig. 3), threshold trade-off (Fig. 4), gallery (Fig. 5/6)."""
from __future__ import annotations

from typing import Dict

import matplotlib.pyplot as plt
import numpy as np

from replication.dnr.records import MODELS, datasets
from replication.reporting.plotting import Figure, by_key, draw, percent_axis, save
from replication.runs.results import RunStore

COLORS = {"dnn": "tab:gray", "nr": "tab:blue", "dnr": "tab:red"}


def security_curves(results: Dict, path) -> None:
    """Accuracy (solid) and rejection rate (dashed) vs eps, mean and std band over runs; dotted: accuracy once the
    double-initialisation restart is added (when run)."""
    sets = datasets(results)
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4), squeeze=False)
    for ax, (name, ds) in zip(axes[0], sets.items()):
        agg = ds.aggregate
        eps = agg.eps
        for m in MODELS:
            for key, style in (("accuracy", "-"), ("rejection", "--")):
                if m == "dnn" and key == "rejection":
                    continue
                mean, std = np.array(agg.curves[m][key].mean), np.array(agg.curves[m][key].std)
                ax.plot(eps, mean, style, color=COLORS[m], marker="o", ms=3, label=f"{m.upper()} {key}")
                ax.fill_between(eps, mean - std, mean + std, color=COLORS[m], alpha=0.12)
            if agg.double_init is not None:
                ax.plot(eps, agg.double_init[m]["accuracy"].mean, ":", color=COLORS[m], marker="x", ms=3,
                        label=f"{m.upper()} accuracy, with restart")
        percent_axis(ax, f"{name}: defense-aware L2 PGD", "eps (L2)")
    save(fig, path)


def tradeoff(results: Dict, path) -> None:
    """Accuracy under attack vs false-reject rate as theta varies, NR and DNR, one line per eps (run 0)."""
    sets = datasets(results)
    fig, axes = plt.subplots(len(sets), 2, figsize=(10, 3.6 * len(sets)), squeeze=False)
    for row, (name, ds) in enumerate(sets.items()):
        trade = ds.aggregate.tradeoff
        for col, m in enumerate(("nr", "dnr")):
            ax = axes[row][col]
            for eps, curve in trade[m].items():
                ax.plot(curve["false_reject"], curve["accuracy"], marker=".", label=f"eps {eps}")
            ax.axvline(10, color="k", ls="--", lw=0.8)
            percent_axis(ax, f"{name}, {m.upper()}", "false-reject rate on clean samples (%)",
                         "accuracy under attack (%)")
    save(fig, path)


def gallery(results: Dict, path) -> None:
    """Source, magnified perturbation and adversarial image per model (Fig. 5 MNIST, Fig. 6 CIFAR-10)."""
    rows = []
    for name, ds in datasets(results).items():
        for m in MODELS:
            pt = next((p for p in ds.runs[0].curves[m] if p.gallery is not None), None)
            if pt is not None:
                rows.append((name, m, pt.eps, pt.gallery))
    if not rows:
        return
    fig, axes = plt.subplots(len(rows), 3, figsize=(6, 2 * len(rows)), squeeze=False)
    for r, (name, m, eps, g) in enumerate(rows):
        x, adv = g.x, g.adv
        delta = adv - x
        scale = np.abs(delta).max() or 1.0
        shown = [x, 0.5 + 0.5 * delta / scale, adv]
        verdict = "reject" if g.rejected else f"class {g.pred}"
        titles = [f"{name} true {g.true}", f"{m.upper()} perturbation (x{0.5 / scale:.1f})",
                  f"eps {eps:g}: {verdict}"]
        for c in range(3):
            img = np.clip(shown[c], 0, 1)
            axes[r][c].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                              vmin=0, vmax=1)
            axes[r][c].set_title(titles[c], fontsize=7)
            axes[r][c].axis("off")
    save(fig, path)


FIGURES = by_key(
    Figure("curves", "security_curves.png", security_curves, "security evaluation curves",
           "Fig. 3: accuracy (solid) and rejection rate (dashed) against eps; dotted: accuracy with the double-"
           "initialisation restart."),
    Figure("tradeoff", "threshold_tradeoff.png", tradeoff, "threshold trade-off",
           "Fig. 4: accuracy under attack against the false-reject rate on clean samples as theta varies (run 0); "
           "dashed line: the 10% operating point."),
    Figure("gallery", "gallery.png", gallery, "gallery",
           "Fig. 5/6: source, magnified perturbation and adversarial example per model."))


def draw_all(results: Dict, store: RunStore) -> Dict[str, str]:
    """All figures, as file names relative to the results folder (none when no dataset has a run)."""
    return draw(results, store, FIGURES.values()) if results["datasets"] else {}
