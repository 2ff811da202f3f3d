"""Deployment: exported policies under ONNX Runtime, sim2sim, the on-board runner and the robot-side I/O.

- ``policy``: :class:`OnnxPolicy` (one-thread ONNX Runtime session; refuses a model whose
  metadata names another robot or joint order). Models come from ``hover export`` (``hover.training.export``; schema: ``hover.policy_metadata``).
- ``sim2sim`` (+ ``sim2sim_physics``, ``sim2sim_worker``): the exported student in a differently
  configured MuJoCo (``hover sim2sim``).
- ``runner``, ``state_machine``, ``safety``, ``robot_io``, ``cli``: the 50 Hz on-board loop (``hover run``);
  ``link`` (robot-state counts: accepted / refused and why), ``operator`` + ``console`` (what the
  operator reads: transitions, hints, warnings with the wall-clock time).
- ``sim_robot``: a MuJoCo H1 speaking the robot's DDS topics (``hover sim-robot``).
- ``inputs``: joystick, Unitree remote, VR (avp-stream), motion playback, keyboard and idle command sources.
- ``unitree``: unitree_go LowCmd_/LowState_ DDS types, their CRC32, motor slots, remote bytes and the
  H1 torso-IMU transform (DDS parts need the ``cyclonedds`` package).
"""
