"""Unitree's CRC32 of the low-level messages (LowCmd_/LowState_), written from the published algorithm.

The robot checks ``crc`` on every ``LowCmd_``. Algorithm (Unitree SDK ``crc32_core``):

- the message is packed as its C struct (little-endian, natural alignment; see ``packing.py``);
- the packed bytes are read as little-endian 32-bit words, and every word except the last one
  (the ``crc`` field itself, which is the struct's last member) is fed to the CRC;
- each word is processed most-significant bit first with the CRC-32 polynomial 0x04C11DB7,
  initial register 0xFFFFFFFF, no input/output reflection and no final xor.

That is exactly CRC-32/MPEG-2 (check value 0x0376E6E7 for b"123456789") over the words written
big-endian. :func:`crc32_mpeg2` computes it with zlib's C implementation of the reflected CRC-32:
reflecting every input byte and the final register turns one variant into the other.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

POLYNOMIAL = 0x04C11DB7
_MASK = 0xFFFFFFFF
_REVERSE_BITS = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def _reverse32(x: int) -> int:
    return int(f"{x & _MASK:032b}"[::-1], 2)


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 of ``data`` (poly 0x04C11DB7, init 0xFFFFFFFF, MSB first, no final xor)."""
    reflected = zlib.crc32(bytes(data).translate(_REVERSE_BITS), 0)  # register starts at ~0 = 0xFFFFFFFF
    return _reverse32(~reflected & _MASK)


def crc32_words_reference(words: Iterable[int]) -> int:
    """Bit-by-bit reference: the SDK's word-wise loop (slow; used to test :func:`crc32_mpeg2`)."""
    crc = 0xFFFFFFFF
    for word in words:
        for bit in range(31, -1, -1):
            top = (crc >> 31) & 1
            crc = (crc << 1) & _MASK
            if top ^ ((word >> bit) & 1):
                crc ^= POLYNOMIAL
    return crc


def unitree_crc(packed: bytes) -> int:
    """CRC of a packed message (its C struct bytes, ``crc`` last): all 32-bit words but the last.

    Raises ValueError when the length is not a whole number of words.
    """
    if len(packed) % 4 or len(packed) < 4:
        raise ValueError(
            f"packed Unitree message must be a whole number of 32-bit words, got {len(packed)} bytes"
        )
    body = memoryview(packed)[:-4]
    # little-endian words -> big-endian bytes (MSB-first processing of each word)
    swapped = bytearray(len(body))
    swapped[0::4], swapped[1::4], swapped[2::4], swapped[3::4] = (
        body[3::4],
        body[2::4],
        body[1::4],
        body[0::4],
    )
    return crc32_mpeg2(bytes(swapped))
