"""Deployment: what runs on the robot's computer. Imports only the core (``hover.robots``, ``commands``,
``student``, ``policy_metadata``, ...), never training, evaluation or the other parts.

- ``policy``: :class:`OnnxPolicy` (one-thread ONNX Runtime session; refuses a model whose metadata names
  another robot or joint order; the schema is :mod:`hover.policy_metadata`). Models come from
  ``hover export`` (``hover.training.export``).
- ``onboard_runner``, ``state_machine``, ``safety``, ``robot_io``, ``loop_timing``: the 50 Hz on-board
  loop (``hover run``); ``link`` (robot-state counts: accepted / refused and why), ``operator`` +
  ``console`` (what the operator reads: transitions, hints, warnings with the wall-clock time).
- ``sim_robot``: a MuJoCo H1 speaking the robot's DDS topics (``hover sim-robot``).
- ``inputs``: joystick, Unitree remote, VR (avp-stream), motion playback, keyboard and idle command sources.
- ``unitree``: unitree_go LowCmd_/LowState_ DDS types, their CRC32, motor slots, remote bytes and the
  H1 torso-IMU transform (DDS parts need the ``cyclonedds`` package).

sim2sim (the exported student in a differently configured MuJoCo) is evaluation: :mod:`hover.evaluation.sim2sim`.
"""
