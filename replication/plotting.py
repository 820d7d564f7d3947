"""Shared figure plumbing: a percentage axis, saving, and drawing a run's figures (headless, matplotlib's Agg
backend)."""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def percent_axis(ax, title: str, xlabel: str, ylabel: str = "%", legend: bool = True, legend_size: int = 7) -> None:
    """Title, labels, a 0-100% y range, and the legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-2, 102)
    if legend:
        ax.legend(fontsize=legend_size)


def draw(results: Dict, store, figures: Dict[str, Tuple[str, Callable]]) -> Dict[str, str]:
    """Draw each figure (key: (file name, function(results, path))) into the run folder; the names by key."""
    for name, draw_one in figures.values():
        draw_one(results, store.path(name))
    return {key: name for key, (name, _) in figures.items()}


def save(fig, path, dpi: int = 120) -> None:
    """Tight layout, write, close."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
