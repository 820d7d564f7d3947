"""Process-wide runtime setup: CPU threading, device facts, library versions."""
from __future__ import annotations

import os
import platform
from typing import Dict

_CONFIGURED = False


def configure(threads: int | None = None) -> None:
    """Use every CPU core (TF's default leaves one of two idle) and quiet TF logs.

    Must run before TensorFlow executes its first op; later calls are no-ops.
    """
    global _CONFIGURED
    if _CONFIGURED:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import tensorflow as tf

    n = threads or os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(max(2, n))
    except RuntimeError:  # TF already initialised: keep its settings
        pass
    _CONFIGURED = True


def has_gpu() -> bool:
    """True when TensorFlow sees at least one GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def device_description() -> str:
    """A one-line description of the compute device used."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        return "GPU: " + ", ".join(names)
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def versions() -> Dict[str, str]:
    """Versions of the stack, for the report."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("tensorflow", "tensorflow-cpu", "keras", "tensorflow-datasets",
                 "cleverhans", "scikit-learn", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
