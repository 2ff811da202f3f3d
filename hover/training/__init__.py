"""Training (application tier): ``configs`` (typed run configs), ``recipes``, ``teacher`` (PPO),
``distillation`` (the DAgger student), ``loop`` and ``runner`` (rsl-rl glue, checkpoints), ``export``
(ONNX with metadata), ``policies`` (trained policies with their typed configs), ``checks`` (bad input)."""
