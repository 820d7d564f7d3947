"""Typed records of a background-class run: a split, the Carlini-Wagner stage, the letter selection, the aggregate.

Each record reads (`from_dict`) and writes (`to_dict`) exactly the JSON its unit file or `results.json` holds, so a
report regenerated from `results.json` and a run resumed from unit files see the same records.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional

import numpy as np

MODELS = ("baseline", "defense")
Fractions = Dict[str, float]  # % of test digits per category: correct, other_digit, background


@dataclass
class WeakAttack:
    """One weak attack (FGS or FG) at the paper's eps on one split: per model, outcome fractions and mean L2."""

    outcomes: Dict[str, Fractions]
    l2_mean: Dict[str, float]

    @classmethod
    def from_dict(cls, d: Dict) -> WeakAttack:
        return cls({m: d[m] for m in MODELS}, {m: d[f"{m}_l2_mean"] for m in MODELS})

    def to_dict(self) -> Dict:
        return {**self.outcomes, **{f"{m}_l2_mean": v for m, v in self.l2_mean.items()}}


@dataclass
class Split:
    """One 90:10 split: Table I's counts, clean outcomes (Table III), the weak attacks at the paper's eps (Table V)
    and their outcomes over the eps grids (per attack, per model, one `Fractions` per eps)."""

    counts: Dict[str, int]
    clean: Dict[str, Fractions]
    fgs: WeakAttack
    fg: WeakAttack
    curves: Dict[str, Dict[str, List[Fractions]]]

    def outcomes(self, table: str) -> Dict[str, Fractions]:
        """Per model, the outcome fractions of `table`: 'clean', 'fgs' or 'fg'."""
        return self.clean if table == "clean" else getattr(self, table).outcomes

    @classmethod
    def from_dict(cls, d: Dict) -> Split:
        return cls(d["counts"], d["clean"], WeakAttack.from_dict(d["fgs"]), WeakAttack.from_dict(d["fg"]), d["curves"])

    def to_dict(self) -> Dict:
        return {"counts": self.counts, "clean": self.clean, "fgs": self.fgs.to_dict(), "fg": self.fg.to_dict(),
                "curves": self.curves}


@dataclass
class PerAttack:
    """Per targeted attack: success (classified as the target), L2 distance, predicted class, target."""

    success: np.ndarray
    l2: np.ndarray
    pred: np.ndarray
    target: np.ndarray

    @classmethod
    def from_dict(cls, d: Dict) -> PerAttack:
        return cls(np.asarray(d["success"], bool), np.asarray(d["l2"], float), np.asarray(d["pred"], np.int64),
                   np.asarray(d["target"], np.int64))

    def to_dict(self) -> Dict:
        return asdict(self)


@dataclass
class CarliniAttack:
    """The targeted Carlini-Wagner L2 attacks on one model: success and found rates (%), outcome fractions, L2 of
    the successful ones, per-attack record, and the first source's nine adversarials (the gallery)."""

    n: int
    success_rate: float
    found_by_attack: float
    outcomes: Fractions
    l2_mean: Optional[float]
    l2_median: Optional[float]
    gallery: Dict[str, List]
    per_attack: Optional[PerAttack] = None  # absent from units of versions before the per-attack record

    @classmethod
    def from_dict(cls, d: Dict) -> CarliniAttack:
        per = PerAttack.from_dict(d["per_attack"]) if "per_attack" in d else None
        return cls(d["n"], d["success_rate"], d["found_by_attack"], d["outcomes"], d["l2_mean"], d["l2_median"],
                   d["gallery"], per)

    def to_dict(self) -> Dict:
        out = {k: getattr(self, k) for k in ("n", "success_rate", "found_by_attack", "outcomes", "l2_mean",
                                             "l2_median", "gallery")}
        return out if self.per_attack is None else {**out, "per_attack": self.per_attack.to_dict()}


@dataclass
class Carlini:
    """Section VI.B's stage: the data, training counts and clean outcomes of its two models, and their attacks."""

    data: str
    train_counts: Dict[str, int]
    clean: Dict[str, Fractions]
    sources: int
    targets: str
    attacks: Dict[str, CarliniAttack]

    @classmethod
    def from_dict(cls, d: Dict) -> Carlini:
        return cls(d["data"], d["train_counts"], d["clean"], d["sources"], d["targets"],
                   {m: CarliniAttack.from_dict(d[m]) for m in MODELS})

    def to_dict(self) -> Dict:
        out: Dict[str, Any] = {k: getattr(self, k) for k in ("data", "train_counts", "clean", "sources", "targets")}
        return {**out, **{m: a.to_dict() for m, a in self.attacks.items()}}


@dataclass
class LetterSelection:
    """Section IV.A: the data, the rate at which each letter is classified as a letter, the letters kept, and the
    agreement with the paper's choice; per letter its counts (`letters.letter_counts`), and how many of the fold
    trainings it rests on (`trainings` of `of`: fewer for a partial selection, `--folds`). Selections from before
    the counts have None there."""

    data: str
    samples: int
    rates: Dict[str, float]
    kept: str
    agreement: Dict[str, Any]
    counts: Optional[Dict[str, Dict[str, int]]] = None
    trainings: Optional[int] = None
    of: Optional[int] = None

    @classmethod
    def from_dict(cls, d: Dict) -> LetterSelection:
        return cls(d["data"], d["samples"], d["rates"], d["kept"], d["agreement"], d.get("counts"),
                   d.get("trainings"), d.get("of"))

    @property
    def partial(self) -> bool:
        return self.trainings is not None and self.trainings < self.of

    def to_dict(self) -> Dict:
        return asdict(self)


MeanStd = Dict[str, float]  # {"mean", "std"} over splits (std 0 for one split)


@dataclass
class Aggregate:
    """Over splits, per category: Table I's mean counts; mean/std of the clean and weak-attack outcomes per model,
    and of the curves per attack, model and eps; the weak attacks' mean L2 per attack and model."""

    counts: Dict[str, float]
    clean: Dict[str, Dict[str, MeanStd]]
    fgs: Dict[str, Dict[str, MeanStd]]
    fg: Dict[str, Dict[str, MeanStd]]
    curves: Dict[str, Dict[str, List[Dict[str, MeanStd]]]]
    l2_mean: Dict[str, Dict[str, float]]

    @classmethod
    def from_dict(cls, d: Dict) -> Aggregate:
        return cls(**d)

    def to_dict(self) -> Dict:
        return asdict(self)


def aggregate(results: Dict) -> Aggregate:
    """The typed aggregate of a background `results.json`."""
    a = results["aggregate"]
    return a if isinstance(a, Aggregate) else Aggregate.from_dict(a)


def splits(results: Dict) -> List[Split]:
    """The typed splits of a background `results.json` (as loaded, or as `run` returns it)."""
    return [s if isinstance(s, Split) else Split.from_dict(s) for s in results["splits"]]


def carlini(results: Dict) -> Optional[Carlini]:
    """The typed Carlini stage of a background `results.json`, None when the run's scope left it out."""
    c = results["carlini"]
    return c if c is None or isinstance(c, Carlini) else Carlini.from_dict(c)


def letter_selection(results: Dict) -> Optional[LetterSelection]:
    """The typed letter selection, None when the run used the paper's letters."""
    s = results["letter_selection"]
    return s if s is None or isinstance(s, LetterSelection) else LetterSelection.from_dict(s)


def stopped_in_selection(results: Dict) -> bool:
    """Whether the run stopped in its letter selection: inside it (`--folds`, a provisional selection) or right
    after it (`--splits 0`, the final selection and no split)."""
    s = letter_selection(results)
    return s is not None and (s.partial or not results["splits"])
