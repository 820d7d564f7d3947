"""Shared figure plumbing: a percentage axis, saving, and drawing a run's figures (headless, matplotlib's Agg
backend)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional

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


@dataclass(frozen=True)
class Figure:
    """One figure of a report, in one place: the key `results["figures"]` names its file by, the file, what draws it
    from a run's results (None where the experiment draws it from more than its results), its alt text and
    caption."""

    key: str
    file: str
    draw: Optional[Callable[[Dict, object], None]]
    alt: str
    caption: str = ""

    def markdown(self, files: Dict[str, str]) -> List[str]:
        """The report's lines for this figure (none when the run did not draw it)."""
        if self.key not in files:
            return []
        return [f"![{self.alt}]({files[self.key]})", ""] + ([self.caption, ""] if self.caption else [])


def by_key(*figures: Figure) -> Dict[str, Figure]:
    """An experiment's figures by key."""
    return {fig.key: fig for fig in figures}


def draw(results: Dict, store, figures: Iterable[Figure]) -> Dict[str, str]:
    """Draw each figure into the run folder; the file names by key."""
    for fig in figures:
        fig.draw(results, store.path(fig.file))
    return {fig.key: fig.file for fig in figures}


def save(fig, path, dpi: int = 120) -> None:
    """Tight layout, write, close."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
