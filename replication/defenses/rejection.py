"""NR and DNR (Sotgiu et al. 2020): RBF SVMs on a network's layer features, with a reject threshold theta.

Both own their Keras network and the names of the layers they read, take images, and reject a sample when its
top class score is <= theta. Their scorer runs network, SVMs (TensorFlow twins of scikit-learn's, see
`replication.defenses.svm`) and theta as one differentiable function.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from replication.defenses.base import Box, Defense, Scorer, decide, layer_names, register, with_reject
from replication.defenses.inputs import check_labels, check_precision
from replication.defenses.svm import TFRBFSVM, rbf_ovr

Params = Tuple[float, float]


def layer_outputs(model: keras.Model, names: Sequence[str]) -> keras.Model:
    """A sub-model returning the named layers' outputs, flattened, in one forward pass."""
    outputs = [keras.layers.Flatten(name=f"flat_{n}")(model.get_layer(n).output) for n in layer_names(model, names)]
    return keras.Model(model.inputs[0], outputs, name=f"{model.name}_features")


def stacked_scores(features: Sequence[np.ndarray], y: np.ndarray, layer_params: Sequence[Params], folds: int,
                   seed: int) -> np.ndarray:
    """Layer-SVM scores of every sample from SVMs that did not see it (k-fold stacked generalization)."""
    if len(features) != len(layer_params):
        raise ValueError(f"{len(features)} feature layers but {len(layer_params)} (C, gamma) pairs")
    n_classes = len(np.unique(y))
    oof = np.zeros((len(y), n_classes * len(features)))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(features[0], y):
        svms = [rbf_ovr(*p).fit(f[train], y[train]) for f, p in zip(features, layer_params)]
        oof[held] = np.hstack([s.decision_function(f[held]) for s, f in zip(svms, features)])
    return oof


class _LayerSVMs(Defense):
    """What NR and DNR share: the network, its feature layers, theta. `input_range`: the images' range (attacks
    stay in it); `model_range`: the range the network was trained on, when not the same (as in `BackgroundClass`)."""

    layers: List[str]
    theta: float = -np.inf

    def _attach(self, model: keras.Model) -> None:
        self.model = model
        self.extractor = layer_outputs(model, self.layers)
        self._tf_svms = None

    def features(self, x: np.ndarray, batch_size: int = 256) -> List[np.ndarray]:
        """Per-layer features of images x (float64, the SVMs' input)."""
        out = self.extractor.predict(self._to_model(self.check_input(x)), batch_size=batch_size, verbose=0)
        out = out if isinstance(out, (list, tuple)) else [out]
        return [np.asarray(f, np.float64) for f in out]

    def _feature_tensors(self, x: tf.Tensor) -> List[tf.Tensor]:
        out = self.extractor(self._to_model(x), training=False)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    @property
    def classes(self) -> Optional[int]:
        """How many classes the fitted SVMs tell apart (None before `fit`)."""
        svm = getattr(self, "svm", None) or getattr(self, "combiner", None)
        return None if svm is None else len(svm.classes_)

    def class_scores(self, features: Sequence[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """(n, classes) scores from scikit-learn's SVMs (the reference the TF scorer equals)."""
        return self.class_scores(self.features(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class labels, or REJECT (-1) where the top score is <= theta (scikit-learn's SVMs)."""
        scores = self.decision_function(x)
        return decide(np.hstack([scores, np.full((len(scores), 1), self.theta)]))

    def fit(self, x: np.ndarray, y: np.ndarray) -> _LayerSVMs:
        """Fit on images x (their features, see `fit_features`)."""
        x = self.check_input(x)
        return self.fit_features(self.features(x), check_labels(y, len(x)))

    def fit_features(self, features: Sequence[np.ndarray], y: np.ndarray) -> _LayerSVMs:  # pragma: no cover
        raise NotImplementedError

    def set_threshold(self, x_val: np.ndarray, reject_rate: float) -> float:
        """theta such that `reject_rate` of these clean, held-out samples are rejected."""
        if not 0.0 <= reject_rate < 1.0:
            raise ValueError(f"reject_rate must lie in [0, 1), got {reject_rate}")
        self.theta = float(np.quantile(self.decision_function(self.check_input(x_val, "x_val")).max(1), reject_rate))
        self._scorer = None
        return self.theta

    def _scores(self, x: tf.Tensor) -> tf.Tensor:
        return with_reject(tf.cast(self._svm_scores(x), tf.float32), self.theta)

    def _logits(self, x: tf.Tensor) -> tf.Tensor:
        return tf.cast(self._svm_scores(x), tf.float32)

    def _svm_scores(self, x: tf.Tensor, dtype: tf.DType = tf.float64) -> tf.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _twins(self, dtype: tf.DType, build):
        """The TensorFlow twins of the fitted SVMs in `dtype` (built once per fit)."""
        self._fitted()
        if not isinstance(self._tf_svms, dict):
            self._tf_svms = {}
        if dtype not in self._tf_svms:
            with tf.init_scope():  # eager constants even when first called inside a tf.function's trace
                self._tf_svms[dtype] = build()
        return self._tf_svms[dtype]

    def scorer_in(self, precision: str) -> Scorer:
        """The scorer (`precision` "float64": the defense's own, equal to scikit-learn within 1e-5), or a float32
        twin of it for an attack's search (2-3x faster kernels, scores within 1e-4 relative; decisions are still
        read from the float64 scorer)."""
        if check_precision(precision) == "float64":
            return self.scorer
        theta = self.theta
        return Scorer(lambda x: with_reject(self._svm_scores(x, tf.float32), theta), rejects=self.rejects,
                      name=f"{type(self).__name__.lower()}_float32",
                      logits=lambda x: self._svm_scores(x, tf.float32), input_shape=self.scorer.input_shape,
                      classes=self.classes)

    def _fitted(self) -> None:
        if not self.is_fitted():
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(x, y) first")

    def state(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("model", "extractor", "_tf_svms", "_scorer")}


@register
class NR(_LayerSVMs):
    """Neural Rejection (Sotgiu et al. 2020, after Melis et al. 2017): one-vs-all RBF SVMs on one layer."""

    def __init__(self, model: keras.Model, layer: str, C: float = 1.0, gamma: float = 1e-2,
                 input_range: Box = (0.0, 1.0), model_range: Optional[Box] = None):
        self.layers, self.C, self.gamma = [layer], C, gamma
        self.input_range = tuple(input_range)
        self.model_range = tuple(model_range or input_range)
        self.svm: Optional[OneVsRestClassifier] = None
        self._attach(model)

    def is_fitted(self) -> bool:
        return self.svm is not None

    def fit_features(self, features: Sequence[np.ndarray], y: np.ndarray) -> NR:
        """Fit on precomputed features (`features(x)`)."""
        self.svm = rbf_ovr(self.C, self.gamma).fit(features[-1], y)
        self._tf_svms, self._scorer = None, None
        return self

    def class_scores(self, features: Sequence[np.ndarray]) -> np.ndarray:
        self._fitted()
        return self.svm.decision_function(features[-1])

    def _svm_scores(self, x: tf.Tensor, dtype: tf.DType = tf.float64) -> tf.Tensor:
        svm = self._twins(dtype, lambda: TFRBFSVM(self.svm, dtype))
        return svm(self._feature_tensors(x)[-1])


@register
class DNR(_LayerSVMs):
    """Deep Neural Rejection: an RBF SVM per layer, combined by an RBF SVM trained by stacked generalization."""

    def __init__(self, model: keras.Model, layers: Sequence[str], layer_params: Sequence[Params],
                 combiner_params: Params, folds: int = 3, seed: int = 0, input_range: Box = (0.0, 1.0),
                 model_range: Optional[Box] = None):
        if len(layers) != len(layer_params):
            raise ValueError(f"{len(layers)} layers but {len(layer_params)} (C, gamma) pairs")
        self.layers = list(layers)
        self.layer_params, self.combiner_params = [tuple(p) for p in layer_params], tuple(combiner_params)
        self.folds, self.seed = folds, seed
        self.input_range = tuple(input_range)
        self.model_range = tuple(model_range or input_range)
        self.layer_svms: List[OneVsRestClassifier] = []
        self.combiner: Optional[OneVsRestClassifier] = None
        self._attach(model)

    def is_fitted(self) -> bool:
        return self.combiner is not None

    def fit_features(self, features: Sequence[np.ndarray], y: np.ndarray) -> DNR:
        """Combiner on out-of-fold layer scores, then the layer SVMs refit on all data."""
        oof = stacked_scores(features, y, self.layer_params, self.folds, self.seed)
        self.combiner = rbf_ovr(*self.combiner_params).fit(oof, y)
        self.layer_svms = [rbf_ovr(*p).fit(f, y) for f, p in zip(features, self.layer_params)]
        self._tf_svms, self._scorer = None, None
        return self

    def class_scores(self, features: Sequence[np.ndarray]) -> np.ndarray:
        self._fitted()
        layer = np.hstack([s.decision_function(f) for s, f in zip(self.layer_svms, features)])
        return self.combiner.decision_function(layer)

    def _svm_scores(self, x: tf.Tensor, dtype: tf.DType = tf.float64) -> tf.Tensor:
        layers, combiner = self._twins(dtype, lambda: ([TFRBFSVM(s, dtype) for s in self.layer_svms],
                                                       TFRBFSVM(self.combiner, dtype)))
        feats = self._feature_tensors(x)
        return combiner(tf.concat([svm(f) for svm, f in zip(layers, feats)], axis=1))
