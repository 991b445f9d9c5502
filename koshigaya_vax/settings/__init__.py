"""Settings package: ``base`` holds everything environment-driven; ``dev``, ``test`` and ``production``
only choose defaults. Production fails closed: it has no default secret, key, database or host."""
