"""Build the control-plane binaries from the Go module proxy and cache them by version.

``go install k8s.io/kubernetes/cmd/kube-apiserver@vX`` does not work: k8s.io/kubernetes requires
its staging modules (k8s.io/api, k8s.io/client-go, ...) at ``v0.0.0`` with local ``replace``
directives, which ``go install`` ignores (kubernetes/kubernetes#79384).  The usual workaround,
used here, is a throw-away wrapper module that requires k8s.io/kubernetes and replaces every
staging module with its published ``v0.<minor>.<patch>`` tag.  etcd's server module has the same
shape.  Every build writes into ``<cache>/<component>-<version>/bin`` and is skipped when the
binaries are already there, so a second run costs nothing.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from foresight.devcluster import _paths, versions

log = logging.getLogger(__name__)

GO = shutil.which("go") or "/usr/local/go/bin/go"

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def _go(args: Sequence[str], cwd: Path, log_file: Path | None = None) -> str:
    """Run ``go`` with the shared caches; raise with the tail of its output on failure."""
    proc = subprocess.run(
        [GO, *args], cwd=cwd, env=_paths.go_env(), capture_output=True, text=True, check=False
    )
    if log_file is not None:
        log_file.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"go {' '.join(args)} failed in {cwd}:\n{proc.stderr[-4000:]}")
    return proc.stdout


def _download(module: str, version: str, workdir: Path) -> dict[str, str]:
    """``go mod download -json`` one module version; returns paths to its go.mod and source."""
    out = _go(["mod", "download", "-json", f"{module}@{version}"], cwd=workdir)
    return json.loads(out)


_LOCAL_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+\.\.?/\S+\s*$", re.MULTILINE)


def local_replaces(go_mod_text: str) -> list[str]:
    """Module paths that a go.mod replaces with a local directory (``=> ./...`` or ``=> ../...``).

    >>> local_replaces("replace (\\n\\tk8s.io/api => ./staging/src/k8s.io/api\\n\\tfoo => bar v1\\n)")
    ['k8s.io/api']
    """
    return _LOCAL_REPLACE.findall(go_mod_text)


def _requirements(go_mod_text: str) -> dict[str, str]:
    """``module -> version`` of every ``require`` line (block or single) of a go.mod.

    >>> _requirements("require (\\n\\ta v1.0.0\\n\\tb v0.0.0 // indirect\\n)\\nrequire c v2.0.0\\n")
    {'a': 'v1.0.0', 'b': 'v0.0.0', 'c': 'v2.0.0'}
    """
    lines = []
    for block in re.findall(r"^require\s*\((.*?)^\)", go_mod_text, re.MULTILINE | re.DOTALL):
        lines += block.strip().splitlines()
    lines += re.findall(r"^require\s+([^(\s].*)$", go_mod_text, re.MULTILINE)
    pairs = (line.split("//")[0].split() for line in lines)
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def wrapper_go_mod(
    upstream_go_mod: str, module: str, version: str, replaced: Sequence[str], staging_version: str
) -> str:
    """go.mod of a wrapper module that builds ``module@version`` as a dependency.

    The upstream requirements are copied so the build list is exactly the upstream pin set (and
    no ``go mod tidy`` is needed, which would pull every test dependency too).  Modules that
    upstream replaces with a local directory and requires at the placeholder ``v0.0.0`` (the
    Kubernetes staging modules) are replaced with their published tag ``staging_version``;
    those it requires at a real version (etcd's siblings) need no replace at all.
    """
    requirements = _requirements(upstream_go_mod)
    godebug = re.findall(r"^godebug\s+.*$", upstream_go_mod, re.MULTILINE)
    lines = ["module foresight.local/wrapper", "", "go 1.23.0", "", *godebug, ""]
    lines += ["require (", f"\t{module} {version}"]
    lines += [f"\t{path} {required}" for path, required in requirements.items()]
    lines += [")", "", "replace ("]
    lines += [
        f"\t{path} => {path} {staging_version}" for path in replaced if requirements.get(path) == "v0.0.0"
    ]
    lines += [")", ""]
    return "\n".join(lines)


def _build_wrapped(
    module: str,
    version: str,
    staging_version: str,
    packages: Sequence[str],
    out_dir: Path,
    ldflags: str,
) -> None:
    """Build ``packages`` of ``module@version`` via a wrapper module into ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="foresight-wrapper-") as tmp:
        work = Path(tmp)
        (work / "go.mod").write_text("module foresight.local/probe\n\ngo 1.23.0\n")
        info = _download(module, version, work)
        upstream = Path(info["GoMod"]).read_text()
        replaced = local_replaces(upstream)
        (work / "go.mod").write_text(wrapper_go_mod(upstream, module, version, replaced, staging_version))
        # -mod=mod lets go fill go.sum for exactly the modules these packages need.
        tmp_out = out_dir.with_name(out_dir.name + ".partial")
        shutil.rmtree(tmp_out, ignore_errors=True)
        tmp_out.mkdir(parents=True)
        _go(
            ["build", "-mod=mod", f"-ldflags={ldflags}", "-o", str(tmp_out) + "/", *packages],
            cwd=work,
            log_file=out_dir.parent / "build.log",
        )
        shutil.rmtree(out_dir, ignore_errors=True)
        tmp_out.rename(out_dir)


def _version_ldflags(version: str) -> str:
    """Stamp the version that /version reports (kubectl and kwok read it)."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _have(bin_dir: Path, names: Sequence[str]) -> bool:
    return all((bin_dir / name).is_file() for name in names)


def ensure_kubernetes(version: str = versions.KUBERNETES) -> Path:
    """kube-apiserver, kube-controller-manager and kube-scheduler at ``version``; returns bin dir."""
    bin_dir = _paths.component_dir("kubernetes", version) / "bin"
    if _have(bin_dir, KUBE_COMMANDS):
        return bin_dir
    bin_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = "v0." + ".".join(version.lstrip("v").split(".")[1:])
    log.info("building Kubernetes %s from the Go module proxy (takes a while the first time)", version)
    _build_wrapped(
        "k8s.io/kubernetes",
        version,
        staging,
        [f"k8s.io/kubernetes/cmd/{name}" for name in KUBE_COMMANDS],
        bin_dir,
        _version_ldflags(version),
    )
    return bin_dir


def ensure_etcd(version: str = versions.ETCD) -> Path:
    """etcd server at ``version`` (server/v3 has local replaces for its sibling modules)."""
    bin_dir = _paths.component_dir("etcd", version) / "bin"
    if _have(bin_dir, ["etcd"]):
        return bin_dir
    bin_dir.parent.mkdir(parents=True, exist_ok=True)
    log.info("building etcd %s from the Go module proxy", version)
    _build_wrapped(
        "go.etcd.io/etcd/server/v3", version, version, ["go.etcd.io/etcd/server/v3"], bin_dir, "-s -w"
    )
    # go names the binary after the last path element that is not a major version: "server".
    (bin_dir / "server").rename(bin_dir / "etcd")
    return bin_dir


def _go_install(package: str, version: str, component: str, binary: str) -> Path:
    """``go install package@version`` into ``<cache>/<component>-<version>/bin``."""
    bin_dir = _paths.component_dir(component, version) / "bin"
    if _have(bin_dir, [binary]):
        return bin_dir
    bin_dir.mkdir(parents=True, exist_ok=True)
    log.info("building %s %s from the Go module proxy", component, version)
    env_dir = bin_dir.parent
    proc = subprocess.run(
        [GO, "install", "-ldflags=-s -w", f"{package}@{version}"],
        cwd=env_dir,
        env={**_paths.go_env(), "GOBIN": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    (env_dir / "build.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"go install {package}@{version} failed:\n{proc.stderr[-4000:]}")
    return bin_dir


def ensure_kwok(version: str = versions.KWOK) -> Path:
    return _go_install("sigs.k8s.io/kwok/cmd/kwok", version, "kwok", "kwok")


def ensure_helm(version: str = versions.HELM) -> Path:
    return _go_install("helm.sh/helm/v3/cmd/helm", version, "helm", "helm")
