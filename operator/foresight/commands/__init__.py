"""Implementations of the heavier CLI commands, registered on the typer app in ``foresight.cli``."""
