"""The Table II network's inputs, its defense view (background class or undefended baseline) and predictions."""
from __future__ import annotations

import keras
import numpy as np

from replication.defenses import REJECT, BackgroundClass, Defense, Undefended
from replication.runs.protocols import BACKGROUND
from replication.runs.stages import PIXELS, to_input, train_table2_net

__all__ = ["PIXELS", "classify", "defense_of", "predict", "to_input", "train_table2_net"]


def defense_of(model: keras.Model) -> Defense:
    """The Table II net as a defense on its own input range: with 11 outputs the background class (a reject is
    a background prediction), with 10 the undefended baseline."""
    if model.output_shape[-1] == BACKGROUND + 1:
        return BackgroundClass(model, BACKGROUND, input_range=PIXELS)
    return Undefended(model, input_range=PIXELS)


def classify(defense: Defense, x: np.ndarray) -> np.ndarray:
    """Table III labels: a digit, or BACKGROUND where the defense rejects."""
    pred = defense.predict(x)
    return np.where(pred == REJECT, BACKGROUND, pred)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Predicted labels of float inputs."""
    return model.predict(x, batch_size=batch_size, verbose=0).argmax(1)
