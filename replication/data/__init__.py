"""Data layer: official raw files (offline) or tensorflow-datasets, verified and upright."""
from replication.data.datasets import (
                                       CIFAR10_NAMES,
                                       COUNTS,
                                       EMNIST_CHARS,
                                       ENV_VAR,
                                       Dataset,
                                       load,
                                       resolve_data_dir,
                                       scale,
)
from replication.data.errors import DataError

__all__ = ["CIFAR10_NAMES", "COUNTS", "EMNIST_CHARS", "ENV_VAR", "Dataset", "DataError", "load",
           "resolve_data_dir", "scale"]
