"""Typed records of a DNR run: what each unit computes, one run, one dataset and its aggregate over runs.

Each record reads (`from_dict`) and writes (`to_dict`) exactly the JSON its unit file or `results.json` holds, so a
report regenerated from `results.json` and a run resumed from unit files see the same records.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

import numpy as np

MODELS = ("dnn", "nr", "dnr")


def _dict(record, omit_none: tuple = ()) -> Dict[str, Any]:
    """A record's fields as a dict (nested records as their dicts), leaving out `omit_none` fields that are None."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if value is None and f.name in omit_none:
            continue
        out[f.name] = value.to_dict() if hasattr(value, "to_dict") else value
    return out


def _points(cls, data: Dict[str, List[Dict]]) -> Dict[str, List]:
    return {m: [cls.from_dict(p) for p in points] for m, points in data.items()}


@dataclass
class Gallery:
    """The first test sample of a curve point, its adversarial and the verdict on it (Fig. 5/6)."""

    x: np.ndarray
    adv: np.ndarray
    pred: int
    rejected: bool
    true: int

    @classmethod
    def from_dict(cls, d: Dict) -> Gallery:
        return cls(np.asarray(d["x"], np.float32), np.asarray(d["adv"], np.float32), int(d["pred"]),
                   bool(d["rejected"]), int(d["true"]))

    def to_dict(self) -> Dict:
        return _dict(self)


@dataclass
class CurvePoint:
    """One model at one eps of a security evaluation curve: accuracy and rejection (%), per sample the outcome code,
    top class score and class (Fig. 4's trade-off), the largest L2, the iterations, why survivors stopped."""

    eps: float
    accuracy: float
    rejection: float
    seconds: float
    top: np.ndarray
    pred: np.ndarray
    outcome: np.ndarray
    l2: float
    iterations: Optional[int]
    causes: Dict[str, float]
    gallery: Optional[Gallery] = None

    @classmethod
    def from_dict(cls, d: Dict) -> CurvePoint:
        return cls(float(d["eps"]), d["accuracy"], d["rejection"], d["seconds"], np.asarray(d["top"], float),
                   np.asarray(d["pred"], np.int64), np.asarray(d["outcome"], np.int8), d["l2"], d["iterations"],
                   dict(d["causes"]), Gallery.from_dict(d["gallery"]) if "gallery" in d else None)

    def to_dict(self) -> Dict:
        return _dict(self, omit_none=("gallery",))


@dataclass
class RestartPoint:
    """The attack-strength check at one eps: accuracy and rejection once secml's restart is added, what it gained,
    on how many samples it ran, and per sample whether the paper's attack or the restart evaded it."""

    eps: float
    accuracy: float
    rejection: float
    restart_gain: float
    restarted: int
    seconds: float
    evaded: Optional[np.ndarray] = None  # absent from units of versions before the per-sample record

    @classmethod
    def from_dict(cls, d: Dict) -> RestartPoint:
        evaded = np.asarray(d["evaded"], bool) if "evaded" in d else None
        return cls(float(d["eps"]), d["accuracy"], d["rejection"], d["restart_gain"], d["restarted"], d["seconds"],
                   evaded)

    def to_dict(self) -> Dict:
        return _dict(self, omit_none=("evaded",))


@dataclass
class LineSearchPoint:
    """Per sample at one eps: evaded under the paper's step search, and under secml's."""

    eps: float
    seconds: float
    evaded_paper: np.ndarray
    evaded_secml: np.ndarray

    @classmethod
    def from_dict(cls, d: Dict) -> LineSearchPoint:
        return cls(float(d["eps"]), d["seconds"], np.asarray(d["evaded_paper"], bool),
                   np.asarray(d["evaded_secml"], bool))

    def to_dict(self) -> Dict:
        return _dict(self)


@dataclass
class Run:
    """One run: the defenses' parameters and thresholds, the TF-vs-scikit-learn check, the three curves, and (when
    the protocol runs them) the line-search check and the restart."""

    y: np.ndarray
    defenses: Dict[str, Any]      # params (C, gamma per SVM and their source), theta per defense, support vectors
    equality: Dict[str, Dict]     # per defense: max_rel_diff, same_predictions
    curves: Dict[str, List[CurvePoint]]
    line_search: Optional[Dict[str, List[LineSearchPoint]]] = None
    double_init: Optional[Dict[str, List[RestartPoint]]] = None

    def theta(self, model: str) -> float:
        """The model's reject threshold (-inf: the undefended DNN never rejects)."""
        return self.defenses["theta"].get(model, -np.inf)

    @classmethod
    def from_dict(cls, d: Dict) -> Run:
        return cls(np.asarray(d["y"], np.int64), d["defenses"], d["equality"], _points(CurvePoint, d["curves"]),
                   _points(LineSearchPoint, d["line_search"]) if "line_search" in d else None,
                   _points(RestartPoint, d["double_init"]) if "double_init" in d else None)

    def to_dict(self) -> Dict:
        out = {"y": self.y, "defenses": self.defenses, "equality": self.equality,
               "curves": {m: [p.to_dict() for p in pts] for m, pts in self.curves.items()}}
        for name in ("line_search", "double_init"):
            if getattr(self, name) is not None:
                out[name] = {m: [p.to_dict() for p in pts] for m, pts in getattr(self, name).items()}
        return out


@dataclass
class MeanStd:
    """Per eps, the mean and sample std over runs (std 0 for one run)."""

    mean: List[float]
    std: List[float]

    @classmethod
    def of(cls, values: List[List[float]]) -> MeanStd:
        values = np.asarray(values, float)
        return cls(values.mean(0).tolist(), (values.std(0, ddof=1) if len(values) > 1 else 0 * values[0]).tolist())

    @classmethod
    def from_dict(cls, d: Dict) -> MeanStd:
        return cls(list(d["mean"]), list(d["std"]))

    def to_dict(self) -> Dict:
        return _dict(self)


def _mean_stds(d: Dict[str, Dict[str, Dict]]) -> Dict[str, Dict[str, MeanStd]]:
    return {m: {k: MeanStd.from_dict(v) for k, v in keys.items()} for m, keys in d.items()}


@dataclass
class Aggregate:
    """Over runs: per model, accuracy and rejection per eps (`curves`); Fig. 4's trade-off (run 0); why survivors
    stopped at the largest eps; the paper's sanity criterion; the same with the restart, when run."""

    eps: List[float]
    curves: Dict[str, Dict[str, MeanStd]]
    tradeoff: Dict[str, Dict[str, Dict[str, List[float]]]]
    causes: Dict[str, Dict[str, float]]
    sanity: List[str]
    double_init: Optional[Dict[str, Dict[str, MeanStd]]] = None
    double_init_sanity: Optional[List[str]] = None

    @classmethod
    def from_dict(cls, d: Dict) -> Aggregate:
        return cls(list(d["eps"]), _mean_stds({m: d[m] for m in MODELS}), d["tradeoff"], d["causes"], d["sanity"],
                   _mean_stds(d["double_init"]) if "double_init" in d else None, d.get("double_init_sanity"))

    def to_dict(self) -> Dict:
        out: Dict[str, Any] = {"eps": self.eps, "tradeoff": self.tradeoff, "causes": self.causes,
                               "sanity": self.sanity}
        out.update({m: {k: v.to_dict() for k, v in keys.items()} for m, keys in self.curves.items()})
        if self.double_init is not None:
            out["double_init"] = {m: {k: v.to_dict() for k, v in keys.items()} for m, keys in self.double_init.items()}
            out["double_init_sanity"] = self.double_init_sanity
        return out


@dataclass
class DatasetResult:
    """One dataset of a DNR run: the network, its runs and their aggregate."""

    feature_layers: List[str]
    network: str
    network_params: int
    data_source: str
    runs: List[Run]
    aggregate: Aggregate
    seconds_this_invocation: float = field(default=0.0)

    @classmethod
    def from_dict(cls, d: Dict) -> DatasetResult:
        return cls(list(d["feature_layers"]), d["network"], d["network_params"], d["data_source"],
                   [Run.from_dict(r) for r in d["runs"]], Aggregate.from_dict(d["aggregate"]),
                   d.get("seconds_this_invocation", 0.0))

    def to_dict(self) -> Dict:
        return {**_dict(self), "runs": [r.to_dict() for r in self.runs]}


def datasets(results: Dict) -> Dict[str, DatasetResult]:
    """The typed datasets of a DNR `results.json` (as loaded, or as `run` returns it)."""
    return {name: ds if isinstance(ds, DatasetResult) else DatasetResult.from_dict(ds)
            for name, ds in results["datasets"].items()}
