"""Resume: a finished unit is loaded, not recomputed; writes are atomic."""
import json

import numpy as np

from replication.results import RunStore, write_json


def test_unit_is_computed_once(tmp_path):
    calls = []
    store = RunStore(tmp_path)
    assert store.unit("a/b", lambda: calls.append(1) or {"x": np.float32(1.5), "v": np.arange(3)}) == {"x": 1.5, "v": [0, 1, 2]}
    again = RunStore(tmp_path)
    assert again.unit("a/b", lambda: calls.append(2)) == {"x": 1.5, "v": [0, 1, 2]}
    assert calls == [1] and again.resumed == ["a/b"] and again.seconds("a/b") >= 0


def test_failed_unit_leaves_nothing(tmp_path):
    store = RunStore(tmp_path)
    try:
        store.unit("bad", lambda: 1 / 0)
    except ZeroDivisionError:
        pass
    assert not (tmp_path / "units" / "bad.json").exists()
    write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert not list(tmp_path.glob("*.tmp"))
