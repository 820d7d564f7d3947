"""A run's results folder: JSON per finished unit, so a re-run resumes instead of recomputing.

Every folder carries the fingerprint of the run that made it (protocol, seed, data, units version). A unit or
checkpoint is only ever reloaded into a run with the same fingerprint: a run with other settings either gets its
own folder (`fork=True`) or stops with one line naming what differs.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

FINGERPRINT_FILE = "fingerprint.json"


def jsonable(obj: Any, packed: bool = False) -> Any:
    """Plain JSON types (tuples become lists, NumPy values Python ones, float32 arrays their shortest exact
    decimals, typed records their `to_dict()`). `packed`: arrays of `PACKED_SIZE` or more numbers become their bytes
    (`pack`), which `load_unit` reads back as the same lists."""
    if hasattr(obj, "to_dict") and not isinstance(obj, type):
        return jsonable(obj.to_dict(), packed)
    if isinstance(obj, dict):
        return {str(k): jsonable(v, packed) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, packed) for v in obj]
    if packed and isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf" and obj.size >= PACKED_SIZE:
        return pack(obj)
    if isinstance(obj, np.ndarray) and obj.dtype == np.float32:
        return _shortest(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _shortest(a: np.ndarray) -> Any:
    # each value as the shortest decimal that reads back as the same float32 (e.g. scores, images): the float64
    # repr of a widened float32 needs ~17 digits; read back as float32, nothing is lost
    return a.astype(str).astype(np.float64).tolist()


# Unit files keep arrays of this many numbers or more as their bytes: a unit's 1,000 x 11 float32 scores take 59 kB
# in base64, not 133 kB of decimals, and its bools and outcome codes a byte each, not 5-6 characters
PACKED_SIZE = 16
_PACKED_KEYS = {"ndarray", "shape", "bytes"}


def pack(a: np.ndarray) -> Dict:
    """An array as {"ndarray": dtype, "shape", "bytes": base64 of its little-endian bytes}."""
    a = np.ascontiguousarray(a, a.dtype.newbyteorder("<"))
    return {"ndarray": a.dtype.str, "shape": list(a.shape), "bytes": base64.b64encode(a.tobytes()).decode()}


def unpack(d: Dict) -> Any:
    """A `pack`ed array (else `d` as it is) as the lists `jsonable` makes of it: reading a unit gives the same
    values, bit for bit and of the same Python types, whether it was written packed or as decimals."""
    if set(d) != _PACKED_KEYS:
        return d
    a = np.frombuffer(base64.b64decode(d["bytes"]), np.dtype(d["ndarray"])).reshape(d["shape"])
    return _shortest(a) if a.dtype == np.float32 else a.tolist()


def load_unit(path: Path) -> Dict:
    """A unit file (`write_json(compact=True)`), its packed arrays read back as lists (`unpack`)."""
    return json.loads(Path(path).read_text(), object_hook=unpack)


# an array of numbers (or true/false/null) as json.dumps(indent=...) spreads it, one line per item: it starts with
# a line break, which no JSON string holds, so text inside strings never matches
_SCALAR = r"(?:-?(?:\d[\d.eE+-]*|Infinity)|NaN|true|false|null)"
_SCALAR_ARRAY = re.compile(rf"\[\n\s*{_SCALAR}(?:,\n\s*{_SCALAR})*\n\s*\]")


UMASK = os.umask(0o022)  # read once, at import (os.umask can only read by setting)
os.umask(UMASK)


def write_json(path: Path, data: Any, compact: bool = False) -> None:
    """Atomic JSON write: a kill mid-write never leaves a half file behind. `compact`: no indentation and arrays
    `pack`ed (unit files, which the ledger keeps in git by the hundred; read them with `load_unit`); else indented,
    with each array of numbers on one line (a per-sample list stays one line, not a thousand)."""
    with replaced(path) as tmp, open(tmp, "w") as fh:
        if compact:
            json.dump(jsonable(data, packed=True), fh, sort_keys=True, separators=(",", ":"))
        else:
            text = json.dumps(jsonable(data), indent=2, sort_keys=True)
            fh.write(_SCALAR_ARRAY.sub(lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text))


@contextlib.contextmanager
def replaced(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file of its own beside `path` to write in, moved onto `path` when the block ends: a kill
    mid-write never leaves a half file, and two workers writing the same file each finish (the last one's stays)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)  # as open() would: mkstemp's 0600 hid a shared run folder from its other users
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def fingerprint_hash(fingerprint: Dict) -> str:
    """Short stable hash of a fingerprint (its canonical JSON)."""
    text = json.dumps(jsonable(fingerprint), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def differences(old: Any, new: Any, prefix: str = "") -> List[str]:
    """'key: old -> new' for every leaf where two fingerprints differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += differences(old.get(k), new.get(k), f"{prefix}{k}." if prefix or k else k)
        return out
    if old != new:
        return [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]
    return []


def data_digest(*arrays: np.ndarray) -> str:
    """Content hash of the data a run uses (where the files lie does not matter, what they hold does)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


# What an experiment's units compute, as a number: a release that changes any unit's numbers (a model's training, a
# defense, an attack, what a unit stores) bumps its experiment's number, which orphans the ledger's units of that
# experiment; a release that does not (a report, a refactor, the package version) leaves them valid.
# tests/test_ledger.py recomputes stored smoke units and fails when their numbers move without a bump.
UNITS_VERSION = {"background": 2, "dnr": 2, "unified": 2, "dnr-sign": 1}


def run_fingerprint(experiment: str, protocol: Dict, seed: int, data: Dict) -> Dict:
    """What makes two runs' units interchangeable: experiment, protocol, seed, data and the experiment's units
    version (`UNITS_VERSION`; not the package version, so a release that changes no unit keeps the ledger)."""
    return {"experiment": experiment, "protocol": protocol, "seed": seed, "data": data,
            "units": UNITS_VERSION[experiment]}


def clock() -> Tuple[float, float]:
    """The wall clock and this process's CPU clock, to time a stretch of work with `took`."""
    return time.time(), time.process_time()


def took(start: Tuple[float, float]) -> Tuple[float, float]:
    """(wall seconds, CPU seconds) since `start`. CPU seconds are what the ledger's estimates use: a paused
    (`kill -STOP`) or crowded process stretches its wall time, not its CPU time."""
    return time.time() - start[0], time.process_time() - start[1]


def unit_file(root: Path, name: str) -> Path:
    """Where a run folder keeps unit `name`."""
    return Path(root) / "units" / f"{name}.json"


class FingerprintMismatch(RuntimeError):
    """The results folder belongs to a run with other settings."""

    def __init__(self, root: Path, diffs: List[str]):
        shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
        super().__init__(f"{root} holds a run with other settings ({shown}); choose another --out, or delete it")
        self.root, self.diffs = root, diffs


class RunStore:
    """Results folder of one run: `units/<name>.json` for each finished unit, plus timings."""

    def __init__(self, root: Path, fingerprint: Optional[Dict] = None, fork: bool = False,
                 computed_by: Optional[Dict] = None):
        """Open `root` for a run with `fingerprint`; on a mismatch fork into `root-<hash>` or raise."""
        root = Path(root)
        self.fingerprint = jsonable(fingerprint or {})
        self.hash = fingerprint_hash(self.fingerprint)
        diffs = self._mismatch(root)
        if diffs and fork:
            root = root.with_name(f"{root.name}-{self.hash}")
            diffs = self._mismatch(root)
        if diffs:
            raise FingerprintMismatch(root, diffs)
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        if not (root / FINGERPRINT_FILE).exists():
            write_json(root / FINGERPRINT_FILE, {"hash": self.hash, "fingerprint": self.fingerprint})
        self.computed_by = computed_by or {}
        self.timings: Dict[str, float] = {}
        self.resumed: list = []
        self._bar = None
        self.expected, self.visited = 0, 0

    def progress(self, total: int, desc: str) -> None:
        """Show one progress line for this run's `total` units (which unit of how many, elapsed, ETA) on stderr,
        beside Keras' epoch lines on stdout; resumed units count as done."""
        from tqdm.auto import tqdm
        self.expected = total
        self._bar = tqdm(total=total, desc=desc, unit="unit", dynamic_ncols=True, mininterval=1.0)

    def close_progress(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _tick(self, name: str, units: int = 1) -> None:
        self.visited += units
        if self._bar is not None:
            self._bar.set_postfix_str(name, refresh=False)
            self._bar.update(units)

    def _mismatch(self, root: Path) -> List[str]:
        path = root / FINGERPRINT_FILE
        if path.exists():
            return differences(json.loads(path.read_text())["fingerprint"], self.fingerprint)
        if (root / "units").is_dir() or (root / "models").is_dir():
            return ["fingerprint: folder made without one (an older version) -> this run's"]
        return []

    def path(self, name: str) -> Path:
        """Path for an artefact (checkpoint, figure) inside the run folder."""
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def unit(self, name: str, compute: Callable[[], Any], inner: int = 0) -> Any:
        """Result of unit `name`: loaded if this run (same fingerprint) finished it, else computed and saved.

        `inner`: how many units `compute` itself opens; loading this unit skips them, and the progress counts them
        as done."""
        path = self.unit_path(name)
        if path.exists():
            saved = load_unit(path)
            if saved.get("fingerprint") != self.hash:
                raise FingerprintMismatch(path, [f"unit fingerprint: {saved.get('fingerprint')} -> {self.hash}"])
            self.resumed.append(name)
            self._tick(name, 1 + inner)
            return saved["result"]
        start = clock()
        computed = compute()
        seconds, cpu_seconds = took(start)
        result = jsonable(computed)  # what load_unit will read back
        write_json(path, {"result": computed, "seconds": seconds, "cpu_seconds": cpu_seconds,
                          "fingerprint": self.hash, "computed_by": self.computed_by}, compact=True)
        self.timings[name] = seconds
        self._tick(name)
        return result

    def unit_path(self, name: str) -> Path:
        """The file of unit `name`."""
        return unit_file(self.root, name)

    def has(self, name: str) -> bool:
        """Whether unit `name` is finished in this folder."""
        return self.unit_path(name).exists()

    def seconds(self, name: str) -> float:
        """Wall time the unit took when it was computed (in this or an earlier run)."""
        path = self.unit_path(name)
        return json.loads(path.read_text()).get("seconds", 0.0) if path.exists() else 0.0

    def computed_by_units(self) -> List[Dict]:
        """Which machines and commits computed the finished units, with how many each (a resumed run may mix); units
        of folders inside this one (a study's cells) count too."""
        seen: Dict[str, Dict] = {}
        for path in sorted(self.root.glob("**/units/**/*.json")):
            who = json.loads(path.read_text()).get("computed_by", {})
            key = json.dumps(who, sort_keys=True)
            seen.setdefault(key, {"computed_by": who, "units": 0})["units"] += 1
        return list(seen.values())


DIGEST_TOLERANCE = 1e-5  # rtol and atol of a reproduced model's digest against the ledger's (float noise only)


class ModelMismatch(RuntimeError):
    """A model rebuilt for a run is not the one its finished units were computed with."""


def verified(store: RunStore, name: str, digest: Dict[str, Any]) -> Dict[str, Any]:
    """Unit `name` holds the digest of a model the run's units depend on (e.g. scores on fixed probe images, theta,
    support-vector counts); a model rebuilt later (a fresh clone of the ledger, which keeps no pickled SVMs) must
    match it within `DIGEST_TOLERANCE` (counts exactly), else `ModelMismatch`: one run never mixes models."""
    stored = store.unit(name, lambda: digest)
    diffs = digest_differences(stored, jsonable(digest))
    if diffs:
        raise ModelMismatch(f"{store.root}: the model rebuilt for {name} differs from the one its units were computed "
                            f"with ({'; '.join(diffs[:3])}); delete that run's units to recompute it whole")
    return stored


def digest_differences(stored: Any, new: Any, key: str = "") -> List[str]:
    """Where two digests differ beyond `DIGEST_TOLERANCE` (integers and strings exactly)."""
    if isinstance(stored, dict) and isinstance(new, dict):
        if set(stored) != set(new):
            return [f"{key}: keys {sorted(stored)} -> {sorted(new)}"]
        return [d for k in sorted(stored) for d in digest_differences(stored[k], new[k], f"{key}.{k}".lstrip("."))]
    a, b = np.asarray(stored), np.asarray(new)
    if a.shape != b.shape:
        return [f"{key}: shape {a.shape} -> {b.shape}"]
    if a.dtype.kind in "iubUSO":
        return [] if np.array_equal(a, b) else [f"{key}: {stored} -> {new}"]
    a, b = a.astype(np.float64), b.astype(np.float64)
    same = np.allclose(a, b, rtol=DIGEST_TOLERANCE, atol=DIGEST_TOLERANCE) and np.array_equal(np.isinf(a), np.isinf(b))
    return [] if same else [f"{key}: max difference {np.nanmax(np.abs(a - b)):.3g}"]


def unit_cache(store: RunStore, prefix: str, keep: int = 1) -> Callable[[str, Callable[[], Any]], Any]:
    """`security_evaluation`'s cache in a run folder: each point is the unit `<prefix>/<attack>/eps<e>`, kept with
    the adversarials of its first `keep` samples only (a unit file stays small; a report shows a few)."""
    from replication.evaluation import Point

    def cache(key: str, compute: Callable[[], Any]) -> Any:
        def trimmed() -> Any:
            point = compute()
            if point.adversarial is not None:
                point.adversarial = point.adversarial[:keep]
            return point
        return Point.from_dict(store.unit(f"{prefix}/{key}", trimmed))
    return cache


def save_arrays(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """Named arrays in one compressed `.npz`, written atomically (`replaced`)."""
    with replaced(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def save_model(model: Any, path: Path, optimizer: bool = True) -> None:
    """`model.save(path)` atomically (`replaced`), with its optimizer state; `optimizer=False`: the network alone,
    saved uncompiled (a trained network the ledger keeps: SGD's momentum doubles a file no later unit reads)."""
    with replaced(path, suffix=".tmp.keras") as tmp:
        if optimizer or not model.compiled:
            model.save(tmp)
            return
        trained = model.optimizer
        model.optimizer, model.compiled = None, False
        try:
            model.save(tmp)
        finally:
            model.optimizer, model.compiled = trained, True


def epoch_seed(seed: int, epoch: int) -> int:
    """The RNG seed of one training epoch: a function of (seed, epoch) only, so a resumed epoch draws what an
    uncut training draws."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0] % (2 ** 31))


def reseed(model: Any, seed: int) -> None:
    """Seed the global RNGs and every layer's own generator (Keras' `SeedGenerator`, e.g. dropout's), whose state
    a saved model does not restore."""
    import keras

    keras.utils.set_random_seed(seed)
    generators = [v for v in model.non_trainable_variables if v.path.endswith("seed_generator_state")]
    for i, state in enumerate(generators):
        state.assign(np.array([seed + i, 0], dtype=state.dtype))


def train_by_epoch(path: Path, build: Callable[[], Any], fit_epoch: Callable[[Any], None], epochs: int,
                   seed: int) -> Any:
    """The model saved at `path`, else one trained epoch by epoch and saved there (the network alone, uncompiled).

    `build()` returns a compiled model; `fit_epoch(model)` trains it one epoch. After each epoch the model and its
    optimizer state go to `<path>.partial/` with the count of finished epochs, so a training cut at epoch k resumes
    at k. Each epoch reseeds every RNG from (seed, epoch) (`epoch_seed`): a resumed training ends with the weights
    of an uncut one at the same threads.
    """
    import keras

    path = Path(path)
    if path.exists():
        return keras.models.load_model(path)
    partial = partial_folder(path)
    state = partial / "epochs.json"
    if state.exists():
        progress = json.loads(state.read_text())
        model = keras.models.load_model(partial / "model.keras")
    else:
        keras.utils.set_random_seed(seed)
        progress, model = {"done": 0, "of": epochs, "seconds": 0.0, "cpu_seconds": 0.0}, build()
    for epoch in range(progress["done"], epochs):
        start = clock()
        reseed(model, epoch_seed(seed, epoch))
        fit_epoch(model)
        save_model(model, partial / "model.keras")
        seconds, cpu_seconds = took(start)
        progress.update(done=epoch + 1, seconds=progress.get("seconds", 0.0) + seconds)
        if "cpu_seconds" in progress:  # absent in a training begun by a release that did not count it
            progress["cpu_seconds"] += cpu_seconds
        write_json(state, progress)
    save_model(model, path, optimizer=False)
    write_json(training_record(path), progress)  # what the training took (the ledger's status estimates from it)
    shutil.rmtree(partial, ignore_errors=True)
    return model


def partial_folder(path: Path) -> Path:
    """`<model>.partial/` beside a model `train_by_epoch` is training: the last finished epoch's model and optimizer
    (`model.keras`) and the count of finished epochs (`epochs.json`)."""
    return Path(path).with_name(Path(path).name + ".partial")


def training_record(path: Path) -> Path:
    """`<model>.json` beside a model trained by `train_by_epoch`: epochs, wall and CPU seconds it took."""
    return Path(path).with_name(Path(path).name + ".json")
