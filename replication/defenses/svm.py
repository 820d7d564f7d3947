"""One-vs-all RBF SVMs: scikit-learn's (fit, grid search) and a TensorFlow twin of their decision function.

score_k(z) = sum_i a_ki exp(-gamma ||z - sv_i||^2) + b_k, over the union of every class's support
vectors (one kernel evaluation per support vector, whatever number of classes uses it).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.svm import SVC

# libsvm's kernel cache (MB): the whole kernel of 16,000 training images (float32 rows), where scikit-learn's 200 MB
# holds half the rows of the paper's 10,000 and a fit recomputes the rows it evicted (one CIFAR-10 pool3 SVM on
# 10,000 images: 428 CPU s against 176 s, docs/protocols.md). The cache changes the time only: the same kernel
# values, the same solver path, the same SVM. Rows are allocated as a fit needs them: small fits take no more memory.
KERNEL_CACHE_MB = 1024


def rbf_ovr(C: float, gamma: float) -> OneVsRestClassifier:
    """One RBF SVM per class: each class score is a smooth decision function (SVC's own 'ovr' is vote-based)."""
    return OneVsRestClassifier(SVC(kernel="rbf", C=C, gamma=gamma, cache_size=KERNEL_CACHE_MB))


def select_params(X: np.ndarray, y: np.ndarray, Cs: Sequence[float], gammas: Sequence[float],
                  folds: int, seed: int) -> Tuple[float, float]:
    """(C, gamma) maximising k-fold CV accuracy on clean data."""
    grid = GridSearchCV(rbf_ovr(1.0, 1.0), {"estimator__C": list(Cs), "estimator__gamma": list(gammas)},
                        cv=StratifiedKFold(folds, shuffle=True, random_state=seed), n_jobs=1)
    grid.fit(X, y)
    return float(grid.best_params_["estimator__C"]), float(grid.best_params_["estimator__gamma"])


def ovr_support(ovr: OneVsRestClassifier, vectors: bool = False) -> Dict[str, np.ndarray]:
    """A fitted `rbf_ovr` as arrays, far smaller than its pickle: per class SVM its support vectors' rows in the
    training matrix, dual coefficients and intercept; with `vectors`, those rows' values too (for a training matrix
    that cannot be recomputed). `ovr_from_support` rebuilds it."""
    estimators = ovr.estimators_
    first = estimators[0]
    out = {"C": np.float64(first.C), "gamma": np.float64(first._gamma), "classes": np.asarray(ovr.classes_),
           "shape": np.asarray(first.shape_fit_, np.int64),
           "counts": np.array([len(e.support_) for e in estimators], np.int64),
           "n_support": np.array([e._n_support for e in estimators], np.int32),
           "support": np.concatenate([e.support_ for e in estimators]).astype(np.int32),
           "dual": np.concatenate([e.dual_coef_[0] for e in estimators]),
           "intercept": np.array([e.intercept_[0] for e in estimators])}
    if vectors:
        rows, first_at = np.unique(out["support"], return_index=True)
        out["rows"] = rows
        out["vectors"] = np.concatenate([e.support_vectors_ for e in estimators])[first_at]
    return out


def ovr_from_support(arrays: Dict[str, np.ndarray], train: Optional[np.ndarray] = None) -> OneVsRestClassifier:
    """The `rbf_ovr` that `ovr_support` stored, without refitting: its support vectors are read from `train` (the
    training matrix, e.g. features recomputed by the network), else from the stored vectors. Its decision function
    equals the stored SVM's on the same training matrix."""
    shape = tuple(int(n) for n in arrays["shape"])
    if train is None:
        if "vectors" not in arrays:
            raise ValueError("these SVMs were stored without their support vectors: pass the training matrix")
        lookup = np.searchsorted(arrays["rows"], arrays["support"])
        vectors = np.asarray(arrays["vectors"], np.float64)[lookup]
    else:
        if tuple(np.shape(train)) != shape:
            raise ValueError(f"the SVMs were fitted on a {shape} training matrix, got {np.shape(train)}")
        vectors = np.asarray(train, np.float64)[arrays["support"]]
    C, gamma = float(arrays["C"]), float(arrays["gamma"])
    ends = np.cumsum(arrays["counts"])
    estimators = [_svc(C, gamma, shape, arrays["support"][a:b], vectors[a:b], arrays["n_support"][k],
                       arrays["dual"][a:b], arrays["intercept"][k])
                  for k, (a, b) in enumerate(zip(ends - arrays["counts"], ends))]
    ovr = rbf_ovr(C, gamma)
    ovr.label_binarizer_ = LabelBinarizer(sparse_output=True).fit(arrays["classes"])
    ovr.classes_ = ovr.label_binarizer_.classes_
    ovr.estimators_, ovr.n_features_in_ = estimators, shape[1]
    return ovr


def _svc(C: float, gamma: float, shape: Tuple[int, int], support: np.ndarray, vectors: np.ndarray,
         n_support: np.ndarray, dual: np.ndarray, intercept: float) -> SVC:
    """A binary SVC with these support vectors and coefficients (scikit-learn's attributes set as `fit` sets them,
    on an SVC fitted to two points for the rest)."""
    svc = SVC(kernel="rbf", C=C, gamma=gamma).fit(np.vstack([np.zeros(shape[1]), np.ones(shape[1])]), [0, 1])
    svc.support_, svc.support_vectors_ = np.asarray(support, np.int32), np.ascontiguousarray(vectors)
    svc._n_support = np.asarray(n_support, np.int32)
    svc.dual_coef_ = np.asarray(dual, np.float64)[None, :]
    svc.intercept_ = np.array([intercept], np.float64)
    svc._dual_coef_, svc._intercept_ = -svc.dual_coef_, -svc.intercept_  # binary: libsvm's signs, as `fit` keeps them
    svc.shape_fit_ = shape
    return svc


class TFRBFSVM(tf.Module):
    """scikit-learn OneVsRestClassifier(SVC(kernel='rbf')) decision_function, in TensorFlow."""

    def __init__(self, ovr: OneVsRestClassifier, dtype: tf.DType = tf.float64):
        super().__init__()
        vectors, weights, intercepts, gamma = self._arrays(ovr)
        self._set(vectors, weights, intercepts, gamma, dtype)

    @classmethod
    def from_arrays(cls, vectors: np.ndarray, weights: np.ndarray, intercepts: np.ndarray, gamma: float,
                    dtype: tf.DType = tf.float64) -> TFRBFSVM:
        """From support vectors (n, d), dual coefficients per class (n, classes), intercepts and gamma."""
        svm = cls.__new__(cls)
        tf.Module.__init__(svm)
        svm._set(vectors, weights, intercepts, gamma, dtype)
        return svm

    @staticmethod
    def _arrays(ovr: OneVsRestClassifier):
        estimators = ovr.estimators_
        if not all(isinstance(e, SVC) and e.kernel == "rbf" for e in estimators):
            raise ValueError("every one-vs-all estimator must be a fitted SVC(kernel='rbf')")
        gammas = {float(e._gamma) for e in estimators}
        if len(gammas) != 1:
            raise ValueError(f"the class SVMs use different gammas: {sorted(gammas)}")
        support = ovr_support(ovr, vectors=True)  # the union of the classes' support vectors, each row once
        weights = np.zeros((len(support["rows"]), len(estimators)))
        weights[np.searchsorted(support["rows"], support["support"]),
                np.repeat(np.arange(len(estimators)), support["counts"])] = support["dual"]
        return support["vectors"], weights, support["intercept"], gammas.pop()

    def _set(self, vectors, weights, intercepts, gamma, dtype) -> None:
        self.dtype = dtype
        self.gamma = tf.constant(gamma, dtype)
        # Below float64, ||z||^2 - 2 z.v + ||v||^2 cancels badly far from the origin: a float32 twin works on
        # vectors centred at their mean (the float64 twin keeps scikit-learn's arithmetic unchanged).
        center = np.asarray(vectors, np.float64).mean(0) if dtype != tf.float64 else np.zeros(np.shape(vectors)[1])
        self.center = tf.constant(center, dtype)
        self.vectors = tf.constant(np.asarray(vectors, np.float64) - center, dtype)
        self.sq_norms = tf.reduce_sum(tf.square(self.vectors), 1)
        self.weights = tf.constant(weights, dtype)
        self.intercepts = tf.constant(intercepts, dtype)

    @property
    def n_support(self) -> int:
        return int(self.vectors.shape[0])

    def __call__(self, z: tf.Tensor) -> tf.Tensor:
        z = tf.cast(tf.reshape(z, [tf.shape(z)[0], -1]), self.dtype)
        if self.dtype != tf.float64:
            z = z - self.center
        sq = tf.reduce_sum(tf.square(z), 1, keepdims=True) - 2.0 * tf.matmul(z, self.vectors, transpose_b=True)
        sq = tf.maximum(sq + self.sq_norms[None, :], 0.0)
        return tf.matmul(tf.exp(-self.gamma * sq), self.weights) + self.intercepts
