"""Import TensorFlow without its start-up log lines (printed by C++ before its logging is set up, so no log level
silences them): stderr is pointed at /dev/null while TensorFlow loads, and while it runs its first op."""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_stderr():
    """File descriptor 2 to /dev/null for the duration (Python's own errors still surface afterwards)."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def import_tensorflow():
    """TensorFlow, imported quietly (INFO and WARNING logs off unless TF_CPP_MIN_LOG_LEVEL is set)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with silenced_stderr():
        import tensorflow as tf
    return tf
