"""The ``jaxvae`` command line: one module per command, the shared flags, and ``cli``, the
dispatcher. Nothing in the package imports this layer."""
