"""The user-facing example runs green: trains a small net, defends it with NR, DNR and the background class
through the public API, attacks each with PGD + restart and CW-L2, and prints the security-evaluation tables."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "defend_your_model.py"


@pytest.mark.slow
def test_example_runs_and_prints_every_defense():
    out = subprocess.run([sys.executable, str(EXAMPLE), "--test", "20"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("## undefended", "## NR", "## DNR", "## background class", "PGD + restart", "CW-L2", "worst case"):
        assert name in out.stdout, name
    assert "absl::InitializeLog" not in out.stderr and "DT_DOUBLE" not in out.stderr  # no TensorFlow log noise
