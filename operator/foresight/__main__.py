"""``python -m foresight`` runs the CLI."""

from foresight.cli import app

if __name__ == "__main__":
    app()
