"""A Spark standalone cluster on 127.0.0.1 (a master and N one-core workers) from the pinned PySpark.

Used by the slow test that proves the Spark step distributes and by ``bench.preprocessing``.
Every process is started here and ended here, by its own id.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Spark master exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the Spark master did not listen on {port} within {seconds} s")


@contextmanager
def standalone_cluster(root: Path, workers: int, *, worker_memory: str = "1g"):
    """``spark://127.0.0.1:<port>`` with ``workers`` one-core workers; every process is ours and ends with it."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(root / "logs"),
           "SPARK_NO_DAEMONIZE": "1"}
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    processes = []
    logs = []

    def start(*args: str) -> subprocess.Popen:
        log = (root / f"process-{len(processes)}.log").open("w")
        logs.append(log)
        process = subprocess.Popen([str(_spark_class()), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        processes.append(process)
        return process

    try:
        master = start("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                       "--webui-port", str(free_port()))
        _wait_for_port(port, master)
        for index in range(workers):
            work_dir = root / f"worker-{index}"
            work_dir.mkdir(parents=True)
            start("org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                  "--cores", "1", "--memory", worker_memory, "--work-dir", str(work_dir),
                  "--webui-port", str(free_port()))
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
