"""Start and stop long-running local processes without leaving orphans.

Each process runs in its own session (so it outlives ``hack/cluster up`` and can be stopped as a
whole process group), writes stdout/stderr to ``<state>/logs/<name>.log`` and leaves a pid file in
``<state>/pids/<name>.pid``.  Stopping sends SIGTERM to the group, waits, then SIGKILLs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class ProcessTable:
    """Pid files and logs of the processes of one local cluster."""

    def __init__(self, state_dir: Path) -> None:
        self.logs = state_dir / "logs"
        self.pids = state_dir / "pids"

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
        """Start ``argv`` detached in a new process group; returns its pid."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        (self.pids / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    def pid(self, name: str) -> int | None:
        """Pid of ``name`` if its pid file exists and the process is still alive."""
        path = self.pids / f"{name}.pid"
        if not path.exists():
            return None
        pid = int(path.read_text().strip())
        return pid if _alive(pid) else None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.pids.glob("*.pid")) if self.pids.exists() else []

    def stop(self, name: str, grace_seconds: float = 10.0) -> None:
        """Stop the process group of ``name``: SIGTERM, then SIGKILL after the grace period."""
        path = self.pids / f"{name}.pid"
        pid = self.pid(name)
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_seconds
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            _signal_group(pid, signal.SIGKILL)
            # Wait for the kill to land so our own children are reaped, not left as zombies.
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        path.unlink(missing_ok=True)

    def stop_all(self, order: Sequence[str] = ()) -> None:
        """Stop ``order`` first (dependents before what they depend on), then anything left."""
        for name in [*order, *self.names()]:
            self.stop(name)


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie that is not our child still answers kill(0); /proc tells the truth.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
