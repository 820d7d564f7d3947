"""Importing the package is quiet: TensorFlow's start-up lines and its retracing hint are dropped, nothing else."""
import logging
import subprocess
import sys

from replication.quiet import import_tensorflow


def test_import_prints_no_tensorflow_start_up_lines():
    out = subprocess.run([sys.executable, "-c", "import replication.defenses, replication.attacks, "
                          "replication.evaluation"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr[-2000:]


def test_only_the_retracing_hint_is_filtered():
    logger = import_tensorflow().get_logger()
    import_tensorflow()  # idempotent: one filter
    hint = logging.LogRecord("tensorflow", logging.WARNING, "", 0, "5 out of the last 13 calls to f triggered "
                             "tf.function retracing. Tracing is expensive", None, None)
    other = logging.LogRecord("tensorflow", logging.WARNING, "", 0, "something else", None, None)
    assert len(logger.filters) >= 1 and not logger.filter(hint) and logger.filter(other)
    assert sum(type(f).__name__ == "_RetracingHint" for f in logger.filters) == 1
