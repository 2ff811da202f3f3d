"""Unitree low-level I/O: unitree_go DDS message types, their CRC32, motor slots, remote bytes, IMU.

``messages`` and ``dds`` need the ``cyclonedds`` package (the ``deploy`` extra); ``crc``,
``remote``, ``motors`` and ``imu`` are plain Python/numpy.
"""
