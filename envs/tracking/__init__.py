"""The HOVER oracle-teacher motion-tracking task (rsl-rl ``VecEnv``), backend-agnostic.

Modules, one job each: ``config`` (dataclasses with the paper's defaults), ``env`` (``TrackingEnv``),
``observations``, ``rewards``, ``terminations``, ``randomization``, ``curriculum`` (penalty scale),
``sampling`` (failure-weighted motion sampling), ``bodies`` (extended-body states).
"""
