"""NR and DNR on scikit-learn one-vs-all RBF SVMs, with a reject threshold (scikit-learn-like API)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

REJECT = -1


def rbf_ovr(C: float, gamma: float) -> OneVsRestClassifier:
    """One RBF SVM per class: each class score is a smooth decision function (SVC's own 'ovr' is vote-based)."""
    return OneVsRestClassifier(SVC(kernel="rbf", C=C, gamma=gamma))


def select_params(X: np.ndarray, y: np.ndarray, Cs: Sequence[float], gammas: Sequence[float],
                  folds: int, seed: int) -> Tuple[float, float]:
    """(C, gamma) maximising k-fold CV accuracy on clean data."""
    grid = GridSearchCV(rbf_ovr(1.0, 1.0), {"estimator__C": list(Cs), "estimator__gamma": list(gammas)},
                        cv=StratifiedKFold(folds, shuffle=True, random_state=seed), n_jobs=1)
    grid.fit(X, y)
    return float(grid.best_params_["estimator__C"]), float(grid.best_params_["estimator__gamma"])


class _Rejector:
    """Shared API: reject when the top score is <= theta."""

    theta: float = -np.inf

    def decision_function(self, features: Sequence[np.ndarray]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def set_threshold(self, features: Sequence[np.ndarray], reject_rate: float) -> float:
        """Choose theta so that `reject_rate` of these (clean, held-out) samples are rejected."""
        top = self.decision_function(features).max(1)
        self.theta = float(np.quantile(top, reject_rate))
        return self.theta

    def predict(self, features: Sequence[np.ndarray]) -> np.ndarray:
        """Class labels, or REJECT (-1) where max_k s_k(x) <= theta."""
        scores = self.decision_function(features)
        return np.where(scores.max(1) <= self.theta, REJECT, scores.argmax(1))

    def save(self, path: Path) -> None:
        joblib.dump(self, path)

    @staticmethod
    def load(path: Path) -> "_Rejector":
        return joblib.load(path)


class NR(_Rejector):
    """Neural Rejection (Melis et al. 2017): one-vs-all RBF SVMs on the last layer's features."""

    def __init__(self, C: float, gamma: float):
        self.C, self.gamma = C, gamma
        self.svm: Optional[OneVsRestClassifier] = None

    def fit(self, features: Sequence[np.ndarray], y: np.ndarray) -> "NR":
        self.svm = rbf_ovr(self.C, self.gamma).fit(features[-1], y)
        return self

    def decision_function(self, features: Sequence[np.ndarray]) -> np.ndarray:
        return self.svm.decision_function(features[-1])


class DNR(_Rejector):
    """Deep Neural Rejection: RBF SVMs per layer, combined by an RBF SVM trained by stacked generalization."""

    def __init__(self, layer_params: List[Tuple[float, float]], combiner_params: Tuple[float, float],
                 folds: int = 3, seed: int = 0):
        self.layer_params, self.combiner_params = list(layer_params), tuple(combiner_params)
        self.folds, self.seed = folds, seed
        self.layer_svms: List[OneVsRestClassifier] = []
        self.combiner: Optional[OneVsRestClassifier] = None

    def out_of_fold_scores(self, features: Sequence[np.ndarray], y: np.ndarray) -> np.ndarray:
        """Layer-SVM scores of every sample from SVMs that did not see it (k-fold stacked generalization)."""
        if len(features) != len(self.layer_params):
            raise ValueError(f"{len(features)} feature layers but {len(self.layer_params)} (C, gamma) pairs")
        n_classes = len(np.unique(y))
        oof = np.zeros((len(y), n_classes * len(features)))
        for train, held in StratifiedKFold(self.folds, shuffle=True, random_state=self.seed).split(features[0], y):
            svms = [rbf_ovr(*p).fit(f[train], y[train]) for f, p in zip(features, self.layer_params)]
            oof[held] = np.hstack([s.decision_function(f[held]) for s, f in zip(svms, features)])
        return oof

    def fit(self, features: Sequence[np.ndarray], y: np.ndarray) -> "DNR":
        """Combiner on out-of-fold layer scores, then layer SVMs refit on all data."""
        self.combiner = rbf_ovr(*self.combiner_params).fit(self.out_of_fold_scores(features, y), y)
        self.layer_svms = [rbf_ovr(*p).fit(f, y) for f, p in zip(features, self.layer_params)]
        return self

    def layer_scores(self, features: Sequence[np.ndarray]) -> np.ndarray:
        """Concatenated per-layer class scores (the combiner's input)."""
        return np.hstack([s.decision_function(f) for s, f in zip(self.layer_svms, features)])

    def decision_function(self, features: Sequence[np.ndarray]) -> np.ndarray:
        return self.combiner.decision_function(self.layer_scores(features))

    def params(self) -> Dict:
        return {"layers": self.layer_params, "combiner": self.combiner_params}
