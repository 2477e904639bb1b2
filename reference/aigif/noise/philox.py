"""Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy
as 1, 2, 3", SC'11), as used by Random123 and by CUDA's curand.

One *block* maps a 128-bit counter (four 32-bit words c0..c3) and a 64-bit key
(two 32-bit words k0, k1) to four 32-bit output words.  One round::

    hi0:lo0 = M0 * c0          (full 64-bit product of two 32-bit words)
    hi1:lo1 = M1 * c2
    (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)

Ten rounds; between consecutive rounds the key is bumped
``k0 += W0, k1 += W1`` (mod 2**32).  Two implementations live here, a pure
Python one (the definition) and a numpy one (the fast path); tests show they
agree and match the Random123 known-answer vectors.
"""

from __future__ import annotations

M0 = 0xD2511F53
M1 = 0xCD9E8D57
W0 = 0x9E3779B9  # golden ratio
W1 = 0xBB67AE85  # sqrt(3) - 1
ROUNDS = 10
MASK32 = 0xFFFFFFFF


def philox4x32(counter: tuple[int, int, int, int], key: tuple[int, int],
               rounds: int = ROUNDS) -> tuple[int, int, int, int]:
    """One Philox4x32 block, pure Python."""
    c0, c1, c2, c3 = (int(w) & MASK32 for w in counter)
    k0, k1 = (int(w) & MASK32 for w in key)
    for r in range(rounds):
        if r:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK32,
                          (p0 >> 32) ^ c3 ^ k1, p0 & MASK32)
    return c0, c1, c2, c3


def philox4x32_np(c0, c1, c2, c3, k0, k1, rounds: int = ROUNDS):
    """Vectorised Philox4x32: each argument is a uint32 array (or scalar)
    broadcastable to a common shape; returns four uint32 arrays."""
    import numpy as np

    u32 = np.uint32
    c0, c1, c2, c3, k0, k1 = np.broadcast_arrays(
        *(np.asarray(a, dtype=u32) for a in (c0, c1, c2, c3, k0, k1)))
    c0, c1, c2, c3 = (a.astype(np.uint64) for a in (c0, c1, c2, c3))
    k0 = k0.astype(np.uint64)
    k1 = k1.astype(np.uint64)
    m0, m1 = np.uint64(M0), np.uint64(M1)
    w0, w1 = np.uint64(W0), np.uint64(W1)
    mask, s32 = np.uint64(MASK32), np.uint64(32)
    for r in range(rounds):
        if r:
            k0 = (k0 + w0) & mask
            k1 = (k1 + w1) & mask
        p0 = c0 * m0  # < 2**64: exact in uint64
        p1 = c2 * m1
        c0, c1, c2, c3 = ((p1 >> s32) ^ c1 ^ k0, p1 & mask,
                          (p0 >> s32) ^ c3 ^ k1, p0 & mask)
    return tuple(a.astype(u32) for a in (c0, c1, c2, c3))


def split_seed(seed: int) -> tuple[int, int]:
    """Key words of a 64-bit seed: (low 32 bits, high 32 bits)."""
    return seed & MASK32, (seed >> 32) & MASK32
