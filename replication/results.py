"""A run's results folder: JSON per finished unit, so a re-run resumes instead of recomputing."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def write_json(path: Path, data: Any) -> None:
    """Atomic JSON write: a kill mid-write never leaves a half file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(_jsonable(data), fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


class RunStore:
    """Results folder of one run: `units/<name>.json` for each finished unit, plus timings."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.timings: Dict[str, float] = {}
        self.resumed: list = []

    def path(self, name: str) -> Path:
        """Path for an artefact (checkpoint, figure) inside the run folder."""
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def unit(self, name: str, compute: Callable[[], Any]) -> Any:
        """Result of unit `name`: loaded if a previous run finished it, else computed and saved."""
        path = self.root / "units" / f"{name}.json"
        if path.exists():
            self.resumed.append(name)
            return json.loads(path.read_text())["result"]
        start = time.time()
        result = _jsonable(compute())
        seconds = time.time() - start
        write_json(path, {"result": result, "seconds": seconds})
        self.timings[name] = seconds
        return result

    def seconds(self, name: str) -> float:
        """Wall time the unit took when it was computed (in this or an earlier run)."""
        path = self.root / "units" / f"{name}.json"
        return json.loads(path.read_text()).get("seconds", 0.0) if path.exists() else 0.0


def load_or_train(path: Path, train: Callable[[], Any]):
    """The Keras model saved at `path`, else `train()`'s model, saved atomically (a kill never leaves half a file)."""
    import keras

    path = Path(path)
    if path.exists():
        return keras.models.load_model(path)
    model = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
    return model
