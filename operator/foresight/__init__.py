"""Foresight: predictive autoscaling and self-healing for Kubernetes.

The package is layered (see the import-linter contracts in ``pyproject.toml``):
``cli`` and ``handlers`` do I/O through ``kube`` and ``metrics``; ``planning``,
``forecasting`` and ``simulation`` are pure; ``api`` holds the typed custom resources.
"""

__version__ = "0.1.0"
