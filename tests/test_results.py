"""Resume: a finished unit is loaded, not recomputed; writes are atomic."""
import contextlib
import json

import numpy as np
import pytest

from replication.runs.results import RunStore, write_json


def test_unit_is_computed_once(tmp_path):
    calls = []
    store = RunStore(tmp_path)
    made = store.unit("a/b", lambda: calls.append(1) or {"x": np.float32(1.5), "v": np.arange(3)})
    assert made == {"x": 1.5, "v": [0, 1, 2]}
    again = RunStore(tmp_path)
    assert again.unit("a/b", lambda: calls.append(2)) == {"x": 1.5, "v": [0, 1, 2]}
    assert calls == [1] and again.resumed == ["a/b"] and again.seconds("a/b") >= 0


def test_failed_unit_leaves_nothing(tmp_path):
    store = RunStore(tmp_path)
    with contextlib.suppress(ZeroDivisionError):
        store.unit("bad", lambda: 1 / 0)
    assert not (tmp_path / "units" / "bad.json").exists()
    write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert not list(tmp_path.glob("*.tmp"))


def _fp(seed=0, letters="measured", digest="abc"):
    return {"experiment": "background", "protocol": {"level": "fast", "letters": letters}, "seed": seed,
            "data": {"pool_partition": "test", "pool_digest": digest}, "package": "0.2.0"}


def test_same_fingerprint_resumes_other_settings_stop_with_the_difference(tmp_path):
    from replication.runs.results import FingerprintMismatch
    RunStore(tmp_path, _fp()).unit("split0", lambda: {"acc": 99.0})
    assert RunStore(tmp_path, _fp()).unit("split0", lambda: {"acc": 0.0}) == {"acc": 99.0}
    for other, named in ((_fp(seed=1), "seed: 0 -> 1"), (_fp(letters="published"), "protocol.letters"),
                         (_fp(digest="xyz"), "data.pool_digest")):
        with pytest.raises(FingerprintMismatch, match=named.replace(".", r"\.")):
            RunStore(tmp_path, other)


def test_default_folder_forks_for_other_settings(tmp_path):
    first = RunStore(tmp_path / "fast", _fp())
    first.unit("split0", lambda: {"acc": 99.0})
    forked = RunStore(tmp_path / "fast", _fp(seed=1), fork=True)
    assert forked.root != first.root and forked.root.name.startswith("fast-")
    assert forked.unit("split0", lambda: {"acc": 50.0}) == {"acc": 50.0}  # computed, not the seed-0 unit
    again = RunStore(tmp_path / "fast", _fp(seed=1), fork=True)  # the fork itself resumes
    assert again.root == forked.root and again.unit("split0", lambda: {"acc": 0.0}) == {"acc": 50.0}


def test_folder_without_fingerprint_and_foreign_units_are_refused(tmp_path):
    from replication.runs.results import FingerprintMismatch
    write_json(tmp_path / "old" / "units" / "split0.json", {"result": 1})  # made by a version without fingerprints
    with pytest.raises(FingerprintMismatch, match="without one"):
        RunStore(tmp_path / "old", _fp())
    store = RunStore(tmp_path / "new", _fp())
    write_json(tmp_path / "new" / "units" / "split1.json", {"result": 2, "fingerprint": "deadbeef"})
    with pytest.raises(FingerprintMismatch, match="unit fingerprint"):
        store.unit("split1", lambda: 3)


def test_units_record_who_computed_them(tmp_path):
    store = RunStore(tmp_path, _fp(), computed_by={"host": "a", "threads": 2})
    store.unit("u1", lambda: 1)
    store.unit("u2", lambda: 2)
    assert store.computed_by_units() == [{"computed_by": {"host": "a", "threads": 2}, "units": 2}]


def test_written_files_have_the_mode_open_would_give_them(tmp_path):
    from replication.runs.results import UMASK

    write_json(tmp_path / "units" / "u.json", {"result": 1})
    (tmp_path / "plain.json").write_text("1")
    assert (tmp_path / "units" / "u.json").stat().st_mode & 0o777 == 0o666 & ~UMASK
    assert (tmp_path / "units" / "u.json").stat().st_mode == (tmp_path / "plain.json").stat().st_mode


def test_dirty_means_code_not_ledger_data(tmp_path):
    import subprocess

    from replication.runs.ledger import ROOT
    from replication.runs.runtime import commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / ROOT).mkdir()
    (tmp_path / ROOT / "unit.json").write_text("1")
    (tmp_path / "code.py").write_text("x = 1")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    assert commit(tmp_path)["dirty"] is False
    (tmp_path / ROOT / "unit.json").write_text("2")  # a unit written, not yet committed: data
    assert commit(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2")
    assert commit(tmp_path)["dirty"] is True


def test_data_digest_is_content_not_location():
    from replication.runs.results import data_digest
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert data_digest(a) == data_digest(a.copy()) != data_digest(a[::-1].copy())
    assert data_digest(a) != data_digest(a.astype(np.int64))


def test_reports_keep_each_array_of_numbers_on_one_line_and_strings_untouched(tmp_path):
    """results.json stays readable and small: a per-sample list is one line, not one line per number; nested
    arrays keep a line per row; the content round-trips exactly, strings that look like arrays included."""
    data = {"per_sample": [0.1, -2e-07, 3, True, None], "rows": [[1, 2], [3, 4]], "text": ["[1,2]", "a,\nb"],
            "empty": []}
    write_json(tmp_path / "r.json", data)
    text = (tmp_path / "r.json").read_text()
    assert '"per_sample": [0.1, -2e-07, 3, true, null]' in text and "[1, 2]" in text
    assert json.loads(text) == data
    assert len(text.splitlines()) == 12


def test_float32_arrays_are_written_short_and_read_back_exactly(tmp_path):
    """Scores and images are float32: in results.json each is the shortest decimal that reads back as the same
    float32 (not float64's 17 digits of the widened value), so a file is smaller and loses nothing."""
    from replication.runs.results import jsonable
    values = np.random.default_rng(0).normal(size=(50, 11)).astype(np.float32)
    values[0, :4] = [np.nan, np.inf, 1e-30, -0.0]
    write_json(tmp_path / "r.json", {"scores": values})
    back = np.asarray(json.loads((tmp_path / "r.json").read_text())["scores"], np.float32)
    assert np.array_equal(back, values, equal_nan=True) and np.signbit(back[0, 3])
    assert len((tmp_path / "r.json").read_text()) < 0.7 * len(json.dumps(values.tolist()))
    assert jsonable(np.array([0.1], np.float64)) == [0.1] and jsonable(np.float32(0.5)) == 0.5  # others as before


def _unit_like(n: int = 1000) -> dict:
    """What a DNR attack unit holds, with the values that break naive encodings (NaN, inf, -0.0, denormals)."""
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(n, 11)).astype(np.float32)
    scores[0, :5] = [np.nan, np.inf, -np.inf, -0.0, 1e-42]
    return {"scores": scores, "adversarial": rng.uniform(size=(1, 28, 28, 1)).astype(np.float32),
            "distance": rng.uniform(0, 5, n), "outcome": rng.integers(0, 3, n).astype(np.int8),
            "flat_gradient": rng.uniform(size=n) < 0.1, "labels": rng.integers(0, 10, n), "eps": 1.5,
            "short": np.array([0.1, 0.2], np.float32), "names": np.array(["a", "b"] * 10), "iterations": None}


def test_unit_files_pack_arrays_and_read_back_what_decimals_would(tmp_path):
    """Unit files keep arrays as their bytes (the ledger holds them by the hundred, under a size budget): a unit is
    under 60% of its decimal size, and `load_unit` returns exactly the values and Python types the decimal form
    gave (floats of the shortest decimals, ints, bools), so no consumer, report or resumed run can tell them apart."""
    from replication.runs.results import jsonable, load_unit
    unit = _unit_like()
    write_json(tmp_path / "packed.json", unit, compact=True)
    (tmp_path / "decimal.json").write_text(json.dumps(jsonable(unit), sort_keys=True, separators=(",", ":")))
    packed, decimal = (tmp_path / "packed.json").read_text(), (tmp_path / "decimal.json").read_text()
    assert '"ndarray":"<f4"' in packed and '"ndarray":"|b1"' in packed and '"short":[0.1,0.2]' in packed
    assert len(packed) < 0.6 * len(decimal)
    back, before = load_unit(tmp_path / "packed.json"), load_unit(tmp_path / "decimal.json")
    assert json.dumps(back, sort_keys=True) == json.dumps(before, sort_keys=True) == json.dumps(jsonable(unit),
                                                                                                 sort_keys=True)
    typed = lambda v: [type(x) for x in np.ravel(np.asarray(v, object))]  # noqa: E731
    for key in unit:
        assert typed(back[key]) == typed(before[key]), key
    assert np.array_equal(np.asarray(back["scores"], np.float32), unit["scores"], equal_nan=True)


def test_a_unit_resumed_from_its_packed_file_equals_the_computed_one(tmp_path):
    """RunStore.unit returns the same thing computed or loaded."""
    computed = RunStore(tmp_path, {"a": 1}).unit("attack/eps1", _unit_like)
    loaded = RunStore(tmp_path, {"a": 1}).unit("attack/eps1", lambda: pytest.fail("recomputed"))
    assert json.dumps(computed, sort_keys=True) == json.dumps(loaded, sort_keys=True)
    assert "ndarray" in (tmp_path / "units" / "attack" / "eps1.json").read_text()


def test_two_writers_of_one_array_file_both_finish_and_leave_a_whole_file(tmp_path, monkeypatch):
    """Two Ray workers keep the same Carlini weights: a second writer that starts and finishes while the first is
    writing (forced here, inside the first one's write) must not take away the first one's temporary file."""
    from replication.runs import results
    path, real = tmp_path / "m" / "w.npz", np.savez_compressed
    nested = []

    def interleaved(fh, **arrays):
        if not nested:
            nested.append(1)
            results.save_arrays(path, {"a": np.arange(3)})
        real(fh, **arrays)
    monkeypatch.setattr(np, "savez_compressed", interleaved)
    results.save_arrays(path, {"a": np.arange(4)})
    with np.load(path) as f:
        assert f["a"].tolist() == [0, 1, 2, 3]
    assert [p.name for p in path.parent.iterdir()] == ["w.npz"]
