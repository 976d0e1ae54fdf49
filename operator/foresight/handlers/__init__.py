"""kopf handlers: validate the spec, call one idempotent reconcile function, write the status.

Importing :mod:`foresight.handlers.startup` registers every handler, and its ``run`` starts the operator;
:mod:`foresight.handlers.runtime` holds what the handlers share in one process.
"""
