"""Multi-instance training: every host joins one XGBoost collective.

The first host (in ``SM_HOSTS`` order) runs the tracker; every host,
including the first, joins as a worker and reads only its own shard of each
channel (``ShardedByS3Key``). Histograms and metrics are all-reduced, so the
result is one model trained on all shards.

Every wait is bounded: XGBoost's own retries on an unreachable or stale
tracker (a tracker port reused from an earlier run) can spin for minutes, so
the port is probed first and each step fails with a clear ``UserError``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

from smxgb.failure import UserError

TRACKER_PORT_ENV = "SMXGB_TRACKER_PORT"
# Overrides resolving the first host's name: the local runner's hosts are all 127.0.0.1.
TRACKER_HOST_ENV = "SMXGB_TRACKER_HOST"
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Cluster:
    hosts: list[str]
    current_host: str

    @property
    def size(self) -> int:
        return len(self.hosts)

    @property
    def rank(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    @property
    def is_leader(self) -> bool:
        """The host that runs the tracker and alone writes the model, outputs and checkpoints."""
        return self.rank == 0


def resolve(host: str, timeout: float) -> str:
    """The host's IPv4 address; SageMaker's DNS entries for algo-N can lag the container start."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise UserError(
                    f"cannot resolve host {host!r} within {timeout:.0f} s ({exc}); check SM_HOSTS and the "
                    "job's network configuration (instances must reach each other)"
                ) from exc
            time.sleep(_POLL_SECONDS)


def _check_port_free(address: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as exc:
            raise UserError(
                f"tracker port {port} on {address} is already in use ({exc.strerror}); set the hyperparameter "
                "tracker_port to a free port"
            ) from exc


def wait_for_port(address: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=min(5.0, timeout)):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise UserError(
                    f"tracker at {address}:{port} not reachable within {timeout:.0f} s ({exc}); the first host "
                    "may have failed (see its log) or tracker_port is blocked by the security group"
                ) from exc
            time.sleep(_POLL_SECONDS)


@contextlib.contextmanager
def collective(cluster: Cluster, port: int, timeout: int) -> Iterator[None]:
    """Join the collective for the duration of the block; a no-op on one host."""
    if not cluster.is_distributed:
        yield
        return
    from xgboost import collective as coll
    from xgboost.tracker import RabitTracker

    address = os.environ.get(TRACKER_HOST_ENV) or resolve(cluster.hosts[0], timeout)
    tracker = None
    if cluster.is_leader:
        _check_port_free(address, port)
        tracker = RabitTracker(n_workers=cluster.size, host_ip=address, port=port, sortby="task", timeout=timeout)
        tracker.start()
        print(f"distributed: tracker on {address}:{port} for {cluster.size} hosts", flush=True)
    else:
        # Probe before joining: XGBoost's own connect loop retries far longer than the timeout.
        wait_for_port(address, port, timeout)
    args = {
        "dmlc_tracker_uri": address,
        "dmlc_tracker_port": port,
        # Sorting by task id makes rank follow SM_HOSTS order, so rank 0 is the leader.
        "dmlc_task_id": f"{cluster.rank:05d}-{cluster.current_host}",
        "dmlc_timeout": timeout,
        "dmlc_retry": 3,
    }
    try:
        context = coll.CommunicatorContext(**args)
        try:
            context.__enter__()
        except Exception as exc:  # XGBoostError carries a multi-line C++ trace; keep one line
            reason = " ".join(str(exc).split())[:300]
            raise UserError(
                f"host {cluster.current_host} could not join the training cluster at {address}:{port} within "
                f"{timeout} s ({reason}); check that every host started and tracker_port is reachable, or raise "
                "tracker_timeout"
            ) from exc
        try:
            print(
                f"distributed: {cluster.current_host} joined as rank {coll.get_rank()} of {coll.get_world_size()}",
                flush=True,
            )
            yield
        finally:
            context.__exit__(None, None, None)
    finally:
        if tracker is not None:
            tracker.wait_for(timeout)
            tracker.free()
