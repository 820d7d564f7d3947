"""Import TensorFlow without its start-up log lines (printed by C++ before its logging is set up, so no log level
silences them): stderr is pointed at /dev/null while TensorFlow loads, and while it runs its first op. Its
"triggered tf.function retracing" hint is dropped too: each attack object compiles its own step once, which that
global counter reads as retracing; every other TensorFlow warning still shows."""
from __future__ import annotations

import contextlib
import logging
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
    if "tensorflow" not in sys.modules:
        with silenced_stderr():
            import tensorflow  # noqa: F401
    tf = sys.modules["tensorflow"]
    logger = tf.get_logger()
    if not any(isinstance(f, _RetracingHint) for f in logger.filters):
        logger.addFilter(_RetracingHint())
    return tf


class _RetracingHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()
