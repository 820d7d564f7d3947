"""`python setup.py --version` and `pip install .` both work: setup.py delegates to pyproject.toml."""
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_setup_py_reports_the_pyproject_version():
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    out = subprocess.run([sys.executable, "setup.py", "--version"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == version


@pytest.mark.slow
def test_pip_builds_a_wheel_with_every_package(tmp_path):
    src = tmp_path / "src"  # a copy: setuptools leaves build/ beside the sources, and a stale one would leak in
    skip = (".git", ".venv*", "build", "results", "reports", "*.egg-info", "__pycache__", "tests", "docs", "notebooks")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*skip))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel, = tmp_path.glob("adversarial_replication-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("replication/runs/ledger.py", "replication/defenses/inputs.py", "keras_models/dnr.py"):
        assert module in names, module
    assert not any(n.startswith(("tests/", "reports/")) for n in names)
