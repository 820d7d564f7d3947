"""What every public entry point checks before it computes: images of the model's shape, finite and inside the box,
and labels that match them. Each refusal is one line naming what was expected."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import keras
import numpy as np

Box = Tuple[float, float]
SLACK = 1e-6  # float rounding at the box's edges


def model_shape(model) -> Optional[Tuple]:
    """The per-sample input shape a Keras model declares (None where it declares none)."""
    if not isinstance(model, keras.Model):
        return None
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list):  # several inputs: not ours to check
        return None
    return tuple(shape[1:])


def shape_text(shape: Sequence) -> str:
    return "(n, " + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def check_images(x, box: Optional[Box] = None, shape: Optional[Sequence] = None, what: str = "x") -> np.ndarray:
    """x as float32, refusing a shape other than `shape` (per sample), non-finite values and values outside
    `box`."""
    try:
        x = np.asarray(x, np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} is not an array of numbers ({err})") from None
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{what} holds no samples (shape {x.shape})")
    if shape is not None and (x.ndim != len(shape) + 1 or
                              any(d is not None and d != g for d, g in zip(shape, x.shape[1:]))):
        raise ValueError(f"{what} has shape {x.shape}, but the model takes {shape_text(shape)}")
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(x), -1).any(1))
        raise ValueError(f"{what} holds {int(bad.sum())} non-finite values (NaN or inf), in samples "
                         f"{rows[:5].tolist()}{' ...' if len(rows) > 5 else ''}")
    if box is not None:
        lo, hi = box
        if x.min() < lo - SLACK * max(1.0, abs(lo)) or x.max() > hi + SLACK * max(1.0, abs(hi)):
            hint = " (pixels in 0-255? pass input_range=(0, 255))" if x.max() > 1.5 and hi <= 1.0 else ""
            raise ValueError(f"{what} lies in [{x.min():g}, {x.max():g}], outside the input range [{lo:g}, {hi:g}]"
                             f"{hint}")
    return x


def check_labels(y, n: int, classes: Optional[int] = None, what: str = "y") -> np.ndarray:
    """y as int64 class indices, one per sample (`n`), each in [0, classes) when `classes` is known."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{what} has shape {y.shape}: pass one class index per sample, shape ({n},)")
    if len(y) != n:
        raise ValueError(f"x has {n} samples but {what} has {len(y)} labels")
    integral = y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    if not integral:
        raise ValueError(f"{what} must hold integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if classes is not None and len(y) and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{what} spans [{y.min()}, {y.max()}], outside the model's classes 0..{classes - 1}")
    return y


def check_eps(eps: float) -> float:
    """eps as a finite, non-negative float."""
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be finite and >= 0, got {eps}")
    return eps


PRECISIONS = ("float64", "float32")


def check_precision(precision: str) -> str:
    """An attack's search precision, one of `PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'float64' or 'float32', got {precision!r}")
    return precision
