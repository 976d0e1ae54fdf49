"""kopf handlers: validate the spec, call one idempotent reconcile function, write the status.

Importing :mod:`foresight.handlers.runtime` and calling ``run`` registers every handler.
"""
