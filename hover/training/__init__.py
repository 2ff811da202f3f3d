"""Training: ``teacher`` (config, ``hover train teacher``, ``export_bundled``) and ``runner`` (rsl-rl glue)."""
