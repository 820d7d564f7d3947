"""tensorflow-datasets as a source: an already prepared data_dir, or a download when online."""
from __future__ import annotations

import functools
import socket
from typing import Optional, Tuple

import numpy as np

from replication.data.errors import DataError

_PROBE = ("storage.googleapis.com", 443)  # where tfds downloads from


@functools.lru_cache(maxsize=1)
def online(timeout: float = 2.0) -> bool:
    """Quick reachability probe, so an offline machine fails in seconds, not after download retries."""
    try:
        socket.create_connection(_PROBE, timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(tfds_name: str, split: str, tfds_dir: Optional[str]) -> Tuple[np.ndarray, np.ndarray]:
    """(images uint8 NHWC, labels int64) of a tfds split, preparing it only when online."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(tfds_name, data_dir=tfds_dir)
    if not builder.is_prepared():
        if not online():
            raise DataError(
                f"tensorflow-datasets '{tfds_name}' is not prepared in {builder.data_dir} and this machine "
                "is offline. Give a directory of the official raw files with --data-dir "
                "(or REPLICATION_DATA_DIR), or prepare the dataset on a machine with network access.")
        builder.download_and_prepare()
    ds = builder.as_dataset(split=split, batch_size=-1, as_supervised=True)
    images, labels = tfds.as_numpy(ds)
    return np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
