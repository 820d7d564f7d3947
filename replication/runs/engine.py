"""Where a run's units are computed: in this process (the default), or as Ray tasks spread over workers.

An experiment lists its independent units as stages of `Job`s (a stage may start once the one before it has
finished). With Ray every job is a task on a worker, which opens the same results folder (its fingerprint is
checked against the worker's own data) and writes its units there; the driver then assembles the run in
process, loading every unit. Each unit is the same function either way, so the numbers are the sequential run's.

The results folder must be one path every worker sees: always true for the local cluster of `--workers N`; on a
cluster of several machines, a shared filesystem (`--out` on it).
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union


@dataclass(frozen=True)
class Job:
    """One task: `fn(*args)` computes and saves some units of a run (fn and args must pickle)."""

    fn: Callable[..., None]
    args: Tuple[Any, ...]
    label: str


Stages = Sequence[Sequence[Job]]


def shared_paths(out, data_dir: Optional[str]) -> Tuple[str, Optional[str]]:
    """The results folder and data folder as absolute paths: a worker may start in another directory."""
    from pathlib import Path
    return str(Path(out).resolve()), (str(Path(data_dir).resolve()) if data_dir else None)


class InProcess:
    """Today's path: the experiment computes its units itself, one after another; no Ray."""

    name = "in-process"

    def run(self, stages: Stages) -> None:
        """Nothing to precompute: the in-process assembly computes every unit."""

    def describe(self) -> Dict[str, Any]:
        return {"name": self.name, "workers": 1}


def _execute(job: Job, threads: Optional[int]) -> Dict[str, Any]:
    """A job on a Ray worker: configure TensorFlow, say who computes, run; its record says who and how long."""
    import time

    import ray

    from replication.runs import runtime
    runtime.configure(threads)
    context = ray.get_runtime_context()
    runtime.WORKER.update(engine="ray", worker=context.get_worker_id()[:12], node=context.get_node_id()[:12],
                          pid=os.getpid())
    start = time.time()
    job.fn(*job.args)
    return {"label": job.label, "host": socket.gethostname(), "worker": runtime.WORKER["worker"],
            "seconds": time.time() - start}


class RayEngine:
    """Jobs as Ray tasks: `workers` local workers (an embedded cluster on this machine), or those of the cluster at
    `address`. Each task asks for one CPU, and one GPU where the cluster has GPUs; `threads` per task (default: this
    machine's cores shared among the local workers, 1 on a joined cluster)."""

    name = "ray"

    def __init__(self, workers: int = 2, address: Optional[str] = None, threads: Optional[int] = None):
        try:
            import ray
        except ImportError as err:  # pragma: no cover - depends on the install
            raise RuntimeError("Ray is not installed: pip install 'adversarial-replication[cluster]'") from err
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers, self.address = workers, address
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self.gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        local_threads = max(1, (os.cpu_count() or 1) // workers)
        self.threads = threads or (1 if address else local_threads)
        self.done: List[Dict[str, Any]] = []

    def run(self, stages: Stages) -> None:
        """Each stage's jobs in parallel, stage after stage, with one progress line of jobs done; a failed job stops
        the run with its error and cancels the stage's other jobs (the units finished so far stay in the folder, so
        a re-run resumes)."""
        import ray
        from tqdm.auto import tqdm
        task = ray.remote(num_cpus=1, num_gpus=self.gpus, max_retries=0)(_execute)
        with tqdm(total=sum(len(s) for s in stages), desc=f"ray jobs ({self.workers} workers)", unit="job",
                  dynamic_ncols=True) as bar:
            for jobs in stages:
                pending = [task.remote(job, self.threads) for job in jobs]
                while pending:
                    finished, pending = ray.wait(pending, num_returns=1)
                    try:
                        record = ray.get(finished[0])
                    except Exception:
                        for ref in pending:  # stop the stage's other jobs (their finished units stay)
                            ray.cancel(ref, force=True)
                        raise
                    self.done.append(record)
                    bar.set_postfix_str(record["label"], refresh=False)
                    bar.update(1)

    def describe(self) -> Dict[str, Any]:
        return {"name": self.name, "workers": self.workers, "address": self.address, "threads_per_task": self.threads,
                "gpus_per_task": self.gpus, "jobs": self.done}


Engine = Union[InProcess, RayEngine]
IN_PROCESS = InProcess()


def engine(workers: int = 1, address: Optional[str] = None, threads: Optional[int] = None) -> Engine:
    """InProcess for one local worker and no cluster address ($RAY_ADDRESS counts); else Ray."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if workers <= 1 and not address:
        return InProcess()
    return RayEngine(workers, address, threads)
