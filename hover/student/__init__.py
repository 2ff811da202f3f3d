"""The HOVER student's observation (proprioception + masked command + mask + 25-step history)."""

from hover.student.observation import (
    HISTORY_LENGTH,
    StudentObservation,
    StudentObsLayout,
    proprioception,
    student_obs_layout,
)

__all__ = ["HISTORY_LENGTH", "StudentObsLayout", "StudentObservation", "proprioception", "student_obs_layout"]
