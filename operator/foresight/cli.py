"""The ``foresight`` command line: one typer app for the operator, its tools and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="foresight",
    help="Predictive autoscaling and self-healing for Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)


@app.command()
def run(
    prometheus_url: Annotated[str | None, typer.Option(help="Default Prometheus URL.")] = None,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Watch only these.")
    ] = None,
    standalone: Annotated[bool | None, typer.Option(help="No peering / leader election.")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of the operator's /metrics (0 = off).")
    ] = None,
    liveness_port: Annotated[int | None, typer.Option(help="Port of /healthz (0 = off).")] = None,
) -> None:
    """Start the operator (kopf), with peering so that only one replica acts."""
    from foresight import config, logs
    from foresight.handlers.startup import run as run_operator

    overrides = {
        "prometheus_url": prometheus_url,
        "namespaces": namespace,
        "standalone": standalone,
        "metrics_port": metrics_port,
        "liveness_port": liveness_port,
    }
    settings = config.Settings.model_validate({k: v for k, v in overrides.items() if v is not None})
    logs.configure(settings.log_format, settings.log_level)
    run_operator(settings)


@app.command()
def crds(
    out: Annotated[Path, typer.Option(help="Directory for the CRD YAML files.")] = Path("crds"),
    chart: Annotated[
        Path | None, typer.Option(help="Chart CRD directory kept as a byte-identical copy.")
    ] = Path("charts/foresight/crds"),
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 if any file differs.")] = False,
    stdout: Annotated[bool, typer.Option(help="Print the CRDs as one YAML stream instead.")] = False,
) -> None:
    """Generate the CustomResourceDefinitions from the typed API models."""
    from foresight.api import crd

    rendered = {name: crd.render(body) for name, body in crd.custom_resource_definitions().items()}
    if stdout:
        typer.echo("---\n".join(rendered.values()), nl=False)
        return
    targets = [out] + ([chart] if chart is not None else [])
    drift = []
    for directory in targets:
        for name, text in rendered.items():
            path = directory / name
            if path.exists() and path.read_text() == text:
                continue
            drift.append(path)
            if not check:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if check and drift:
        console.print(f"[red]CRDs out of date:[/] {', '.join(map(str, drift))}; run `foresight crds`.")
        raise typer.Exit(1)
    console.print(
        f"CRDs up to date in {', '.join(map(str, targets))}"
        if not drift
        else f"wrote {len(drift)} file(s): {', '.join(map(str, drift))}"
    )


@app.command(
    "dev-cluster",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def dev_cluster(ctx: typer.Context) -> None:
    """The local control plane + Prometheus (no Docker): up | down | status | ensure | nodes | which."""
    from foresight.devcluster.command import main

    raise typer.Exit(main(list(ctx.args)))


def _register_tools() -> None:
    """Commands implemented next to the code they drive (forecasting, simulation, failover)."""
    from foresight.commands import (
        bench,
        bench_operator,
        demo,
        disk_health,
        evaluate,
        failover_eval,
        forecast,
        train,
        unseen,
    )

    app.command()(train.train)
    app.command()(evaluate.evaluate)
    app.command("evaluate-unseen")(unseen.evaluate_unseen)
    app.command()(bench.bench)
    app.command("bench-report")(bench.bench_report)
    app.command("evaluate-failover")(failover_eval.evaluate_failover)
    app.command("train-disk-health")(disk_health.train_disk_health)
    app.command("evaluate-disk-health")(disk_health.evaluate_disk_health)
    app.command("bench-operator")(bench_operator.bench_operator)
    app.command()(demo.demo)
    app.command()(forecast.forecast)


_register_tools()
