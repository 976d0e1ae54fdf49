"""Where the local control plane keeps its tools, builds and run state.

Everything lives under one cache root (``~/.cache/foresight`` unless ``FORESIGHT_CACHE`` says
otherwise) so that a second run on the same machine, or CI on a fresh clone of the repository,
reuses binaries that take many minutes to build.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The directory holding every cached build, the Go caches and run state."""
    return Path(os.environ.get("FORESIGHT_CACHE", Path.home() / ".cache" / "foresight")).expanduser()


def component_dir(component: str, version: str) -> Path:
    """``<cache>/<component>-<version>``: one directory per pinned tool version."""
    return cache_root() / f"{component}-{version}"


def go_env() -> dict[str, str]:
    """Environment for ``go`` that keeps module and build caches in the shared cache root.

    ``GOTOOLCHAIN=local`` stops go from downloading another toolchain behind our back;
    ``-trimpath`` keeps build outputs independent of the cache location.
    """
    go_root = cache_root() / "go"
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(go_root / "mod"),
        GOCACHE=str(go_root / "build"),
        GOPATH=str(go_root / "path"),
        GOFLAGS="-trimpath -buildvcs=false",
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
    )
    return env


def run_root(name: str) -> Path:
    """State directory of one named local cluster (certs, data, logs, pid files)."""
    return cache_root() / "run" / name
