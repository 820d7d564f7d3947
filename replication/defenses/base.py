"""What every defense shares: a differentiable scorer with the reject score as its last column, and the rule
that turns scores into a label or a reject.

A sample is rejected when its reject score is >= its top class score; otherwise it gets the top class. For NR and
DNR the reject score is the constant theta, for the background class the background logit, and for an undefended
network -inf (it never rejects).
"""
from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf

from replication.defenses.inputs import Box, check_images, check_labels, check_precision, model_shape

REJECT = -1


class Scorer(tf.Module):
    """x -> (n, classes + 1) float32 scores, the reject score last; differentiable end to end.

    `rejects`: whether the reject column can ever win (False for an undefended network, whose column is -inf).
    `logits`: what a non-adaptive attacker differentiates (the network's own output); defaults to the class scores.
    """

    def __init__(self, fn: Callable[[tf.Tensor], tf.Tensor], rejects: bool = True, name: str = "scorer",
                 logits: Optional[Callable[[tf.Tensor], tf.Tensor]] = None, input_shape: Optional[tuple] = None,
                 classes: Optional[int] = None):
        super().__init__(name=name)
        self.fn, self.rejects = fn, rejects
        self.logits = logits or (lambda x: self(x)[:, :-1])
        self.input_shape, self.classes = input_shape, classes  # what inputs and labels attacks accept (None: any)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.fn(x), tf.float32)


def with_reject(scores: tf.Tensor, reject: Union[tf.Tensor, float]) -> tf.Tensor:
    """Class scores (n, k) and a reject score (n,) or a constant -> (n, k + 1)."""
    if not isinstance(reject, tf.Tensor) or reject.shape.rank == 0:
        reject = tf.fill([tf.shape(scores)[0]], tf.cast(reject, scores.dtype))
    return tf.concat([scores, tf.reshape(tf.cast(reject, scores.dtype), [-1, 1])], 1)


def scores_of(scorer: Callable[[tf.Tensor], tf.Tensor], x: np.ndarray, batch: int = 200) -> np.ndarray:
    """A scorer's output on a numpy batch, computed `batch` samples at a time."""
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        raise ValueError("no samples to score")
    return np.concatenate([scorer(tf.constant(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def decide(scores: np.ndarray) -> np.ndarray:
    """Labels from (n, classes + 1) scores: the top class, or REJECT where the reject score is >= it."""
    scores = np.asarray(scores)
    classes = scores[:, :-1]
    return np.where(scores[:, -1] >= classes.max(1), REJECT, classes.argmax(1))


_WRAPPED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_scorer(target) -> Scorer:
    """A Scorer from a defense, a Scorer, a Keras classifier (logits, never rejects) or a callable x -> logits.

    One Scorer per model or callable, so attacks compiled on it are traced once.
    """
    if isinstance(target, Scorer):
        return target
    if isinstance(target, Defense):
        return target.scorer
    if isinstance(target, keras.Model) or callable(target):
        if target not in _WRAPPED:
            _WRAPPED[target] = (Undefended(target).scorer if isinstance(target, keras.Model) else
                                Scorer(lambda x: with_reject(tf.cast(target(x), tf.float32), -np.inf), rejects=False,
                                       name="callable", logits=target))
        return _WRAPPED[target]
    raise TypeError(f"cannot attack {type(target).__name__}: pass a defense, a Scorer, a Keras model or a callable")


def pre_softmax(model: keras.Model) -> keras.Model:
    """`model` itself, or, when its last layer applies softmax (a `Softmax` or softmax `Activation` layer, or a
    layer with `activation="softmax"`), the same network without it: its logits. Attacks differentiate logits;
    probabilities saturate, and an attack on them overstates robustness (about 2x in Carlini-Wagner L2 distance on
    a small MNIST net)."""
    last = model.layers[-1] if model.layers else None
    softmax = keras.activations.softmax
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    if isinstance(last, keras.layers.Softmax) or (isinstance(last, keras.layers.Activation) and
                                                  last.activation is softmax):
        return keras.Model(inputs, last.input, name=f"{model.name}_logits")
    if getattr(last, "activation", None) is softmax:
        config = dict(last.get_config(), activation="linear", name=f"{last.name}_logits")
        linear = type(last).from_config(config)
        out = linear(last.input)
        linear.set_weights(last.get_weights())
        return keras.Model(inputs, out, name=f"{model.name}_logits")
    return model


def search_scorer(target, precision: str = "float64") -> Scorer:
    """What an attack differentiates and searches with: `as_scorer(target)`, or for a defense with float64 parts
    (NR, DNR) its float32 twin (`precision="float32"`)."""
    check_precision(precision)
    return target.scorer_in(precision) if isinstance(target, Defense) else as_scorer(target)


def box_of(target, default: Box = (0.0, 1.0)) -> Box:
    """The input range of a defense (or `default` for anything else)."""
    return tuple(target.input_range) if isinstance(target, Defense) else default


class Defense:
    """A classifier with a reject option that owns its Keras network (scikit-learn habits: fit, predict with
    REJECT (-1), decision_function, set_threshold, save/load) and gives a differentiable `scorer`."""

    model: keras.Model
    input_range: Box = (0.0, 1.0)
    model_range: Optional[Box] = None  # the range the network was trained on, when not input_range
    rejects: bool = True               # False: the reject column is -inf (never wins)
    _scorer: Optional[Scorer] = None

    def _to_model(self, x: tf.Tensor) -> tf.Tensor:
        """Images in `input_range` -> the network's `model_range` (a shift and scale; identity when equal)."""
        (lo, hi), (mlo, mhi) = self.input_range, tuple(self.model_range or self.input_range)
        if (lo, hi) == (mlo, mhi):
            return x
        scale = (mhi - mlo) / (hi - lo)
        return x * scale + (mlo - lo * scale)

    def _scores(self, x: tf.Tensor) -> tf.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _logits(self, x: tf.Tensor) -> tf.Tensor:
        return self._scores(x)[:, :-1]

    @property
    def scorer(self) -> Scorer:
        """x -> (n, classes + 1) scores with the reject score last (one object per defense, so attacks compiled
        on it are traced once); rebuilt when the threshold changes."""
        if self._scorer is None:
            self._scorer = Scorer(self._scores, rejects=self.rejects, name=type(self).__name__.lower(),
                                  logits=self._logits, input_shape=model_shape(getattr(self, "model", None)),
                                  classes=self.classes)
        return self._scorer

    @property
    def classes(self) -> Optional[int]:
        """How many classes the defense tells apart (None until it knows)."""
        model = getattr(self, "model", None)
        return int(model.output_shape[-1]) if isinstance(model, keras.Model) else None

    def scorer_in(self, precision: str) -> Scorer:
        """The scorer an attack searches with: the defense's own (its networks compute in float32 either way)."""
        check_precision(precision)
        return self.scorer

    def check_input(self, x: np.ndarray, what: str = "x") -> np.ndarray:
        """x as float32, refusing another shape than the network's, non-finite values and values outside
        `input_range` (one line each)."""
        return check_images(x, self.input_range, model_shape(getattr(self, "model", None)), what)

    def check_labels(self, y: np.ndarray, n: int) -> np.ndarray:
        """y as int64 class indices, one per sample, inside the defense's classes."""
        return check_labels(y, n, self.classes)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n, classes + 1) float32 scores of images x, the reject score last."""
        return scores_of(self.scorer, self.check_input(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class labels, or REJECT (-1)."""
        return decide(self.scores(x))

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """(n, classes) class scores."""
        return self.scores(x)[:, :-1]

    def set_threshold(self, x_val: np.ndarray, reject_rate: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    # persistence: `state()` is everything but the network; the network is saved beside it unless told not to
    def state(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def save(self, path: Union[str, Path], include_model: bool = True) -> Path:
        """A folder with state.joblib and (unless include_model=False) model.keras."""
        import joblib
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        joblib.dump({"class": type(self).__name__, "state": self.state()}, path / "state.joblib")
        if include_model:
            self.model.save(path / "model.keras")
        (path / "defense.json").write_text(json.dumps({"class": type(self).__name__,
                                                       "model_saved": include_model}) + "\n")
        return path

    @classmethod
    def load(cls, path: Union[str, Path], model: Optional[keras.Model] = None) -> Defense:
        """A defense saved with `save`; pass `model` when the network was saved elsewhere."""
        import joblib
        path = Path(path)
        saved = joblib.load(path / "state.joblib")
        if saved["class"] != cls.__name__ and cls is not Defense:
            raise ValueError(f"{path} holds a {saved['class']}, not a {cls.__name__}")
        if model is None:
            if not (path / "model.keras").exists():
                raise FileNotFoundError(f"{path} was saved without its network: pass model=")
            model = keras.models.load_model(path / "model.keras")
        klass = _CLASSES[saved["class"]]
        defense = klass.__new__(klass)
        defense.__dict__.update(saved["state"])
        defense._scorer = None
        defense._attach(model)
        return defense

    def _attach(self, model: keras.Model) -> None:
        self.model = model


class Undefended(Defense):
    """A plain Keras classifier under the defense API: it never rejects. `model_range`: as in `BackgroundClass`.
    A softmax output is attacked through its logits (`pre_softmax`)."""

    rejects = False

    def __init__(self, model: keras.Model, input_range: Box = (0.0, 1.0), model_range: Optional[Box] = None):
        self.input_range = tuple(input_range)
        self.model_range = tuple(model_range or input_range)
        self._attach(model)

    def _attach(self, model: keras.Model) -> None:
        self.model, self.net = model, pre_softmax(model)

    def _scores(self, x: tf.Tensor) -> tf.Tensor:
        return with_reject(self._logits(x), -np.inf)

    def _logits(self, x: tf.Tensor) -> tf.Tensor:
        return tf.cast(self.net(self._to_model(x), training=False), tf.float32)

    def state(self) -> dict:
        return {"input_range": self.input_range, "model_range": self.model_range}


_CLASSES = {}


def register(cls):
    """Make a Defense subclass loadable by `Defense.load`."""
    _CLASSES[cls.__name__] = cls
    return cls


register(Undefended)


def layer_names(model: keras.Model, names: Sequence[str]) -> list:
    """`names`, checked against the model's layers (a clear error naming the ones it lacks)."""
    have = [layer.name for layer in model.layers]
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(f"model {model.name!r} has no layer {missing}; its layers are {have}")
    return list(names)


def evaded(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample: a wrong class, not rejected (an attack's success against a defense)."""
    label = decide(scores)
    return (label != REJECT) & (label != np.asarray(y))
