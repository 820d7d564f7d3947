"""One-vs-all RBF SVMs: scikit-learn's (fit, grid search) and a TensorFlow twin of their decision function.

score_k(z) = sum_i a_ki exp(-gamma ||z - sv_i||^2) + b_k, over the union of every class's support
vectors (one kernel evaluation per support vector, whatever number of classes uses it).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import tensorflow as tf
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC


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
        union = np.unique(np.concatenate([e.support_ for e in estimators]))
        position = {int(i): p for p, i in enumerate(union)}
        vectors = np.zeros((len(union), estimators[0].support_vectors_.shape[1]))
        weights = np.zeros((len(union), len(estimators)))
        for k, e in enumerate(estimators):
            rows = [position[int(i)] for i in e.support_]
            vectors[rows] = e.support_vectors_
            weights[rows, k] = e.dual_coef_[0]
        return vectors, weights, np.array([e.intercept_[0] for e in estimators]), gammas.pop()

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
