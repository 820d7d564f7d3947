"""Process-wide runtime setup: CPU threading, op determinism, device facts, what identifies a run."""
from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Dict, Optional

_CONFIGURED: Dict = {}


def configure(threads: Optional[int] = None, deterministic: bool = False) -> None:
    """Use every CPU core (TF's default leaves one of two idle; `threads` caps it), quiet TF logs, and optionally
    turn on TensorFlow's op determinism.

    Must run before TensorFlow executes its first op; later calls are no-ops.
    """
    if _CONFIGURED:
        return
    from replication.quiet import import_tensorflow, silenced_stderr
    tf = import_tensorflow()

    n = threads or os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(max(2, n))
    except RuntimeError:  # TF already initialised: keep its settings
        pass
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    with silenced_stderr():  # the runtime's own start-up lines
        tf.constant(0.0).numpy()
    _CONFIGURED.update(threads=n, deterministic=deterministic)


def has_gpu() -> bool:
    """True when TensorFlow sees at least one GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def vector_isa() -> str:
    """The widest vector instruction set TensorFlow's CPU kernels (oneDNN) dispatch to here, "avx512", "avx2" or
    "other": machines of one CPU model name may differ in it, and so in a trained network's last bits."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        flags = []
    return "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "other"


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
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores"


CHECKOUT = Path(__file__).resolve().parents[2]  # the repository the package runs from, when it runs from one


def commit(root: Path = CHECKOUT) -> Dict[str, object]:
    """The git commit of the checkout at `root` and whether its tracked code differs from it ('unknown' outside a
    checkout). Changes under the ledger (`reports/`) are data, not code, and do not count as dirty."""
    from replication.runs.ledger import ROOT

    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                f":(exclude){ROOT}"], cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
        return {"commit": sha, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


WORKER: Dict[str, object] = {}  # set by `replication.runs.engine` in a Ray worker: engine, worker, node, pid


def identity() -> Dict[str, object]:
    """What identifies the machine and code computing a result: commit, CPU and its vector instruction set,
    threads, determinism, host (and the Ray worker, in one)."""
    out = dict(commit())
    out.update(host=socket.gethostname(), cpu=cpu_model(), isa=vector_isa(), cpu_count=os.cpu_count(),
               device=device_description(),
               threads=_CONFIGURED.get("threads"), deterministic=_CONFIGURED.get("deterministic", False), **WORKER)
    return out


def versions() -> Dict[str, str]:
    """Versions of the stack, for the report."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("adversarial-replication", "tensorflow", "tensorflow-cpu", "keras", "tensorflow-datasets",
                 "cleverhans", "scikit-learn", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def package_version() -> str:
    """This package's version (part of every run's fingerprint)."""
    from importlib import metadata

    try:
        return metadata.version("adversarial-replication")
    except metadata.PackageNotFoundError:
        return "unknown"
