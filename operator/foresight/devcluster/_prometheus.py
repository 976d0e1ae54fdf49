"""Prometheus and promtool from Debian, a backfilled TSDB, and the scrape configuration.

The Debian package is fetched with ``apt-get download`` and unpacked into the cache with
``dpkg-deb -x`` rather than installed: nothing is started as a system service, no root-owned
state is touched beyond the apt cache, and the binaries (static Go) run from the cache.
If ``prometheus`` and ``promtool`` are already on PATH those are used instead.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from foresight.devcluster import _paths
from foresight.devcluster import trace as trace_mod

DEBIAN_PACKAGE = "prometheus"


def ensure_prometheus() -> Path:
    """Directory holding ``prometheus`` and ``promtool``."""
    on_path = shutil.which("prometheus"), shutil.which("promtool")
    if all(on_path) and Path(on_path[0]).parent == Path(on_path[1]).parent:  # type: ignore[arg-type]
        return Path(on_path[0]).parent  # type: ignore[arg-type]
    existing = sorted(_paths.cache_root().glob("prometheus-*/usr/bin/promtool"))
    if existing:
        return existing[-1].parent
    with tempfile.TemporaryDirectory(prefix="foresight-deb-") as tmp:
        download = ["apt-get", "download", DEBIAN_PACKAGE]
        if subprocess.run(download, cwd=tmp, capture_output=True, check=False).returncode != 0:
            # A fresh machine may have empty package lists.
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
            subprocess.run(download, cwd=tmp, check=True, capture_output=True)
        deb = Path(glob.glob(f"{tmp}/{DEBIAN_PACKAGE}_*.deb")[0])
        version = deb.name.split("_")[1].split("+")[0]
        target = _paths.component_dir("prometheus", version)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target / "usr" / "bin"


def backfill(
    promtool: Path, replay: trace_mod.Replay, labels: dict[str, str], tsdb_dir: Path, span: timedelta | None
) -> int:
    """Write the trace history into TSDB blocks under ``tsdb_dir``; returns the sample count."""
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    source = tsdb_dir.parent / "backfill.om"
    count = 0
    with source.open("w") as handle:
        for line in trace_mod.openmetrics(replay.history(span), labels):
            handle.write(line)
            count += 1
    subprocess.run(
        [str(promtool), "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(tsdb_dir)],
        check=True,
        capture_output=True,
    )
    source.unlink()
    return count - 3  # HELP, TYPE and EOF lines


def scrape_config(feeder_address: str, scrape_interval_seconds: int) -> str:
    """prometheus.yml scraping the live feeder (and Prometheus itself, for health)."""
    return (
        "global:\n"
        f"  scrape_interval: {scrape_interval_seconds}s\n"
        f"  evaluation_interval: {scrape_interval_seconds}s\n"
        "scrape_configs:\n"
        "  - job_name: foresight-feeder\n"
        "    honor_labels: true\n"
        "    static_configs:\n"
        f"      - targets: ['{feeder_address}']\n"
    )


def prometheus_argv(
    binary: Path, config: Path, tsdb_dir: Path, listen: str, retention: str = "10y"
) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb_dir}",
        # Backfilled blocks older than the retention would be deleted at start-up.
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address={listen}",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",
        "--log.level=warn",
    ]
