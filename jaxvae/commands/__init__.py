"""The ``jaxvae`` command line: one module per command (``train``, ``demo``, ``why``, ``sweep``,
``eval``, ``explore``, ``judge``), the flags generated from the config dataclasses (``flags``), the process
settings every command shares (``process``), and ``cli``, the dispatcher. Nothing in the package
imports this layer."""
