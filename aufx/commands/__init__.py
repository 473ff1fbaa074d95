"""Sub-commands of the ``aufx`` CLI, one module per concern (see :mod:`aufx.cli`)."""
