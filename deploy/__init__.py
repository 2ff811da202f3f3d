"""Deployment: exported policies under ONNX Runtime and the robot-side I/O.

- ``policy``: :class:`OnnxPolicy` (one-thread ONNX Runtime session; refuses a model whose
  metadata names another robot or joint order). Models come from ``hover export`` (``hover.export``).
- ``unitree``: unitree_go LowCmd_/LowState_ DDS types, their CRC32, motor slots, remote bytes and the
  H1 torso-IMU transform (DDS parts need the ``cyclonedds`` package).
"""
