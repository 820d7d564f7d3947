"""One entry point, `load`, for MNIST, EMNIST (bymerge, balanced) and CIFAR-10 from raw files or tfds."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np

from replication.data import raw
from replication.data.errors import DataError
from replication.data.tfds_source import load_tfds

ENV_VAR = "REPLICATION_DATA_DIR"
EMNIST_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"  # bymerge and balanced, 47 classes
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

COUNTS = {
    ("mnist", "train"): 60000, ("mnist", "test"): 10000,
    ("emnist/bymerge", "train"): 697932, ("emnist/bymerge", "test"): 116323,
    ("emnist/balanced", "train"): 112800, ("emnist/balanced", "test"): 18800,
    ("cifar10", "train"): 50000, ("cifar10", "test"): 10000,
}
HINTS = {
    "mnist": "Get the four idx .gz files from the official MNIST page into DATA_DIR/mnist/.",
    "emnist": "Get the official EMNIST 'gzip.zip' (NIST) and put it, or its gzip/ members, in DATA_DIR/emnist/.",
    "cifar10": "Get the official 'cifar-10-python.tar.gz' into DATA_DIR/cifar10/ "
               "(or its extracted cifar-10-batches-py/).",
}


@dataclass
class Dataset:
    """Images (uint8, NHWC, upright) and integer labels of one split, with where they came from."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    class_names: List[str]
    source: str
    files: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def resolve_data_dir(data_dir: Optional[str]) -> Optional[Path]:
    """The raw-file directory: the argument, else $REPLICATION_DATA_DIR, else None (use tfds)."""
    chosen = data_dir or os.environ.get(ENV_VAR) or None
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataError(f"data directory {path} does not exist (from --data-dir or ${ENV_VAR}).")
    return path


def load(name: str, split: str, data_dir: Optional[str] = None, tfds_dir: Optional[str] = None) -> Dataset:
    """Load `name` ('mnist', 'emnist/bymerge', 'emnist/balanced', 'cifar10') split 'train' or 'test'.

    Raw files in the data directory come first; when they are absent, tensorflow-datasets.
    Corrupt files always raise DataError naming the file.
    """
    if (name, split) not in COUNTS:
        known = sorted({n for n, _ in COUNTS})
        raise ValueError(f"unknown dataset/split {name!r}/{split!r}; datasets: {known}, splits: train, test")
    root = resolve_data_dir(data_dir)
    if root is not None:
        try:
            return _load_raw(name, split, root)
        except DataError as err:
            if "missing" not in str(err):
                raise
            missing = err
    else:
        missing = None
    try:
        images, labels = load_tfds(name, split, tfds_dir)
    except DataError as err:
        if missing is not None:
            raise DataError(f"{missing}\nNo tensorflow-datasets fallback either: {err}") from None
        raise
    if name.startswith("emnist"):
        images = images.transpose(0, 2, 1, 3)  # tfds keeps EMNIST's transposed storage
    return Dataset(name, split, images, labels, _class_names(name, root), "tensorflow-datasets")


def _load_raw(name: str, split: str, root: Path) -> Dataset:
    count = COUNTS[(name, split)]
    if name == "mnist":
        prefix = "train" if split == "train" else "t10k"
        images, labels, files = raw.load_idx_pair(
            f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz",
            [root / "mnist", root], (28, 28), count, HINTS["mnist"])
    elif name.startswith("emnist/"):
        variant = name.split("/")[1]
        images, labels, files = raw.load_idx_pair(
            f"emnist-{variant}-{split}-images-idx3-ubyte.gz", f"emnist-{variant}-{split}-labels-idx1-ubyte.gz",
            [root / "emnist", root], (28, 28), count, HINTS["emnist"], zip_names=("gzip.zip",))
        images = images.transpose(0, 2, 1)  # idx stores EMNIST transposed: make upright
    else:
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        images, labels, files = raw.load_cifar10_batches(names, [root / "cifar10", root], HINTS["cifar10"])
    if images.ndim == 3:
        images = images[..., None]
    _check_labels(name, labels, files[-1])
    return Dataset(name, split, np.ascontiguousarray(images), labels, _class_names(name, root),
                   f"raw files in {root}", files)


def _check_labels(name: str, labels: np.ndarray, where: str) -> None:
    n_classes = len(EMNIST_CHARS) if name.startswith("emnist") else 10
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"{where}: labels span {labels.min()}..{labels.max()}, expected 0..{n_classes - 1}.")


def _class_names(name: str, root: Optional[Path]) -> List[str]:
    if name == "mnist":
        return [str(d) for d in range(10)]
    if name == "cifar10":
        return raw.cifar10_label_names([root / "cifar10", root]) if root else list(CIFAR10_NAMES)
    chars = list(EMNIST_CHARS)
    if root is not None:
        variant = name.split("/")[1]
        text = raw.read_text(f"emnist-{variant}-mapping.txt", [root / "emnist", root], ("gzip.zip",))
        if text is not None:
            mapped = [chr(int(line.split()[1])) for line in text.split("\n") if line.strip()]
            if mapped != chars:
                raise DataError(f"emnist-{variant}-mapping.txt: maps to {''.join(mapped)!r}, "
                                f"expected the official {EMNIST_CHARS!r}.")
    return chars


def scale(images: np.ndarray, pixel_range: tuple) -> np.ndarray:
    """uint8 images -> float32 in [lo, hi]: (-0.5, 0.5) for the background paper, (0, 1) for DNR."""
    lo, hi = pixel_range
    return (images.astype(np.float32) / 255.0) * (hi - lo) + lo
