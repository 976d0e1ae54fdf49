"""Run the real operator (``foresight run``) as a child process against the local cluster."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Self

import httpx

from foresight.devcluster.cluster import ClusterConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """``foresight run --standalone`` with its own ports and log file; start, kill -9, restart.

    ``nice`` lowers its CPU priority (``os.nice``), for tests that starve it.
    """

    def __init__(
        self, kubeconfig: str, prometheus_url: str, log_path: Path, *, nice: int = 0, **env: str
    ) -> None:
        self.log_path = log_path
        self.nice = nice
        self.metrics_port = free_port()
        self.liveness_port = free_port()
        self.env = {
            **os.environ,
            "KUBECONFIG": kubeconfig,
            "FORESIGHT_PROMETHEUS_URL": prometheus_url,
            "FORESIGHT_STANDALONE": "true",
            "FORESIGHT_TICK_SECONDS": "5",
            "FORESIGHT_HPA_SYNC_SECONDS": str(ClusterConfig().hpa_sync_seconds),
            "FORESIGHT_METRICS_PORT": str(self.metrics_port),
            "FORESIGHT_LIVENESS_PORT": str(self.liveness_port),
            "FORESIGHT_LOG_FORMAT": "json",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_seconds: float = 90) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "foresight", "run"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=functools.partial(os.nice, self.nice) if self.nice else None,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"operator exited with {self.process.returncode}; log: {self.log_path}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"operator not healthy after {timeout_seconds}s; log: {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no clean-up handlers run, as when a node dies under the operator."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self._log is not None:
            self._log.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text


def install_crds(api: object, crd_dir: Path, timeout_seconds: float = 60) -> list[str]:
    """Create or update every CRD in ``crd_dir`` and wait until the API serves them."""
    import yaml
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    extensions = client.ApiextensionsV1Api(api)  # type: ignore[arg-type]
    names = []
    for path in sorted(crd_dir.glob("*.yaml")):
        body = yaml.safe_load(path.read_text())
        name = body["metadata"]["name"]
        names.append(name)
        try:
            current = extensions.read_custom_resource_definition(name)
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            extensions.replace_custom_resource_definition(name, body)
        except ApiException as exc:
            if exc.status != 404:
                raise
            extensions.create_custom_resource_definition(body)
    deadline = time.monotonic() + timeout_seconds
    for name in names:
        while True:
            conditions = extensions.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not established")
            time.sleep(0.5)
    return names


@contextlib.contextmanager
def running_operator(
    kubeconfig: str, prometheus_url: str, log_path: Path, **env: str
) -> Iterator[OperatorProcess]:
    """An :class:`OperatorProcess` started for the ``with`` block and stopped after it."""
    process = OperatorProcess(kubeconfig, prometheus_url, log_path, **env)
    process.start()
    try:
        yield process
    finally:
        process.stop()


class BackgroundLoop:
    """Calls :meth:`step` every ``interval`` seconds on a daemon thread for the ``with`` block."""

    interval = 1.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def step(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
