"""Units spread over Ray workers: the job lists, and two workers' smoke runs equal to the in-process ones."""
import dataclasses
import json
import math
import time

import pytest

from replication.runs import engine, protocols, runtime
from replication.runs.results import jsonable

TIMING = {"seconds", "wall_seconds_this_invocation", "seconds_this_invocation", "run", "versions",
          "units_computed_by", "out", "fingerprint", "resumed_units", "figures", "device", "stage_seconds",
          "computed_by", "engine"}


def differences(a, b, path="", rel=1e-5):
    """Where two results differ: any label, count, code or text; a float beyond `rel` (relative, floor 1)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) if k not in TIMING
                for d in (differences(a.get(k), b.get(k), f"{path}/{k}", rel) if k in a and k in b
                          else [f"{path}/{k}: in one only"])]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]", rel)]
    if isinstance(a, float) and isinstance(b, float):
        same = a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= rel * max(1.0, abs(a), abs(b))
        return [] if same else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r:.60} vs {b!r:.60}"]


def test_the_difference_rule_can_fail():
    assert differences({"a": [1.0, 2]}, {"a": [1.0 + 1e-7, 2]}) == []
    assert differences({"a": [1.0, 2]}, {"a": [1.001, 2]}) and differences({"a": [1, 2]}, {"a": [1, 3]})
    assert differences({"a": 1}, {"b": 1}) and differences({"seconds": 1.0}, {"seconds": 9.0}) == []


def test_one_worker_and_no_address_is_the_in_process_path(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    chosen = engine.engine(1, None)
    assert isinstance(chosen, engine.InProcess) and chosen.describe() == {"name": "in-process", "workers": 1}
    chosen.run([[engine.Job(pytest.fail, ("an in-process run computes its units itself",), "x")]])


def test_jobs_are_the_independent_units_in_stages(tmp_path):
    from replication.background import experiment as background
    from replication.dnr import experiment as dnr
    from replication.unified import experiment as unified
    smoke = protocols.background("smoke")
    stages = background.jobs(smoke, tmp_path, None, 0, protocols.WHOLE)
    assert [[j.label for j in s] for s in stages] == [["letters/repeat0_fold0", "letters/repeat0_fold1"],
                                                      ["letter_selection"], ["split0", "split1", "carlini/models"],
                                                      ["carlini/baseline", "carlini/defense", "gallery"], ["carlini"]]
    stages = background.jobs(protocols.background("paper"), tmp_path, None, 0, protocols.Scope(folds=3))
    assert [[j.label for j in s] for s in stages] == [["letters/repeat0_fold0", "letters/repeat0_fold1",
                                                       "letters/repeat0_fold2"]]  # nothing needs the letters yet
    stages = background.jobs(protocols.background("smoke"), tmp_path, None, 0, protocols.Scope(splits=0))
    assert [[j.label for j in s] for s in stages] == [["letters/repeat0_fold0", "letters/repeat0_fold1"],
                                                      ["letter_selection"]]  # stops after the selection
    published = dataclasses.replace(protocols.background("paper"), letters="published")
    stages = background.jobs(published, tmp_path, None, 0, protocols.Scope(splits=1, carlini=False))
    assert [[j.label for j in s] for s in stages] == [["split0"], ["gallery"]]
    stages = dnr.jobs(protocols.dnr("paper"), tmp_path, None, 0, protocols.Scope(runs=2, datasets=("mnist",)))
    assert [[j.label for j in s] for s in stages] == [["mnist"], ["mnist/run0", "mnist/run1"]]
    stages = unified.jobs(protocols.unified("smoke"), tmp_path, None, 0)
    assert [j.label for j in stages[0]] == ["models"] and len(stages[1]) == 6
    job = stages[1][0]
    assert job.args[1] == str(tmp_path) and job.fn.__module__ == "replication.unified.experiment"


def test_jobs_carry_absolute_paths(tmp_path, monkeypatch):
    """A worker may start in another directory: relative --out and --data-dir reach it resolved."""
    from replication.dnr import experiment as dnr
    monkeypatch.chdir(tmp_path)
    job = dnr.jobs(protocols.dnr("smoke"), "results/dnr", "data", 0, protocols.WHOLE)[0][0]
    assert job.args[1] == str(tmp_path / "results" / "dnr") and job.args[2] == str(tmp_path / "data")


@pytest.fixture(scope="module")
def ray_engine():
    pytest.importorskip("ray", reason="Ray is the optional extra [cluster] (make install installs it)")
    import ray
    chosen = engine.RayEngine(workers=2, threads=runtime.identity()["threads"])  # the in-process runs' threads
    yield chosen
    ray.shutdown()


@pytest.mark.slow
def test_a_failed_job_stops_the_run_and_keeps_what_finished(ray_engine, tmp_path):
    """The first stage's unit is saved; the failing job's error reaches the driver as itself (the CLI's error
    handling sees a DataError as a DataError); later stages never start."""
    from replication.runs.results import write_json
    done, never = tmp_path / "units" / "a.json", tmp_path / "units" / "c.json"
    stages = [[engine.Job(write_json, (done, {"x": 1}), "a")], [engine.Job(int, ("not a number",), "b")],
              [engine.Job(write_json, (never, {}), "c")]]
    with pytest.raises(ValueError, match="not a number"):
        ray_engine.run(stages)
    assert json.loads(done.read_text()) == {"x": 1} and not never.exists()


def _meeting(me: str, other: str, then: str) -> str:
    """Code for a job: mark itself started, wait until `other` has too (both run at once), then run `then`."""
    return (f"import time, pathlib\npathlib.Path({me!r}).touch()\n"
            f"while not pathlib.Path({other!r}).exists(): time.sleep(0.1)\n{then}")


@pytest.mark.slow
def test_a_failed_job_cancels_the_rest_of_its_stage(ray_engine, tmp_path):
    """A job running beside the failed one is stopped: it never writes what it would have 5 s later."""
    a, b, late = (str(tmp_path / n) for n in ("a", "b", "late"))
    slow = engine.Job(exec, (_meeting(a, b, f"time.sleep(5); pathlib.Path({late!r}).touch()"), {}), "slow")
    fails = engine.Job(exec, (_meeting(b, a, "int('not a number')"), {}), "fails")
    with pytest.raises(ValueError, match="not a number"):
        ray_engine.run([[slow, fails]])
    time.sleep(8)
    assert (tmp_path / "a").exists() and not (tmp_path / "late").exists()


SMOKE_RUNS = {"background": "smoke_run", "dnr": "dnr_smoke_run", "unified": "unified_smoke_run"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(f)) for n, f in SMOKE_RUNS.items()])
def test_two_workers_give_the_in_process_numbers(name, ray_engine, data_dir, tmp_path, request):
    """Every label, outcome, accuracy and count equal; stored floats equal up to float32 rounding (a unit computed
    in another process may round its last bit differently). results.json says which worker computed each unit."""
    import importlib
    experiment = importlib.import_module(f"replication.{name}.experiment")
    _, sequential = request.getfixturevalue(SMOKE_RUNS[name])  # on this worker (its xdist group)
    protocol = getattr(protocols, name)("smoke")
    spread = experiment.run(protocol, tmp_path / name, str(data_dir), seed=0, engine=ray_engine)
    assert differences(jsonable(sequential), jsonable(spread)) == []
    assert spread["engine"]["name"] == "ray" and spread["engine"]["workers"] == 2
    who = [u["computed_by"] for u in spread["units_computed_by"]]
    assert all(w.get("engine") == "ray" and w.get("worker") and w.get("host") for w in who)
    jobs = spread["engine"]["jobs"]  # one record per job: which worker, and its wall time
    assert jobs and all(j["seconds"] > 0 and j["worker"] for j in jobs)
