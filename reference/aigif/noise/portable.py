"""``portable``: the noise generator that AIGIF defines completely.

Every step below is integer arithmetic or an IEEE-754 binary64 operation that
is correctly rounded (+, -, *, /, sqrt, exact conversions), evaluated in the
stated order, without fused multiply-add and without extended precision.  Any
language with IEEE doubles therefore reproduces the values bit for bit.

Value ``n`` (n = 0, 1, 2, ...) of the stream for ``seed``:

1. block ``j = n >> 1``, half ``h = n & 1``;
2. ``(w0, w1, w2, w3) = Philox4x32-10(counter=(j mod 2**32, j >> 32, 0, 0),
   key=(seed mod 2**32, seed >> 32))``;
3. ``(a, b) = (w0, w1)`` if ``h == 0`` else ``(w2, w3)``;
   ``k = (a << 20) | (b >> 12)`` (52 bits);
4. ``u = (2k + 1) * 2**-53``: exact, strictly inside (0, 1), symmetric;
5. ``x = inverse normal CDF of u`` by Wichura's AS241 (PPND16) rational
   approximations in binary64, the tail's logarithm being :func:`plog`;
6. the value is ``x`` rounded to float32 (round to nearest, ties to even).

A stream is one infinite sequence: ``normal(shape)`` takes the next
``prod(shape)`` values in row-major order, so later calls continue the counter
(an odd-sized call leaves the next call starting in the second half of a
block).  SPEC.md Appendix F is the normative text.

The pure-Python functions (``philox4x32`` in :mod:`.philox`, :func:`plog`,
:func:`ppnd`, :func:`value`, :meth:`PortableStream.normal_list`) are the
definition; the numpy functions are the fast path and the tests prove that the
two agree bit for bit.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from .base import NoiseUnavailable, check_seed, check_shape, numel
from .philox import MASK32, philox4x32, philox4x32_np, split_seed

KEY = "portable"

# ---------------------------------------------------------------------------
# Constants.  Every constant is given as an exact binary64 value (hex float);
# the decimal in the comment is for the reader only.
# ---------------------------------------------------------------------------

TWO_M53 = float.fromhex("0x1p-53")

#: binary64 nearest to sqrt(2)  (1.4142135623730951)
SQRT2 = float.fromhex("0x1.6a09e667f3bcdp+0")
#: ln 2 split: LN2_HI has 32 significant bits, so e * LN2_HI is exact for |e| < 2**21
LN2_HI = float.fromhex("0x1.62e42fee00000p-1")  # 6.93147180369123816490e-01
LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")  # 1.90821492927058770002e-10

#: atanh series coefficients c_k = binary64 nearest 1/(2k+1), k = 1 .. 11
LOG_C = (
    float.fromhex("0x1.5555555555555p-2"),  # 1/3
    float.fromhex("0x1.999999999999ap-3"),  # 1/5
    float.fromhex("0x1.2492492492492p-3"),  # 1/7
    float.fromhex("0x1.c71c71c71c71cp-4"),  # 1/9
    float.fromhex("0x1.745d1745d1746p-4"),  # 1/11
    float.fromhex("0x1.3b13b13b13b14p-4"),  # 1/13
    float.fromhex("0x1.1111111111111p-4"),  # 1/15
    float.fromhex("0x1.e1e1e1e1e1e1ep-5"),  # 1/17
    float.fromhex("0x1.af286bca1af28p-5"),  # 1/19
    float.fromhex("0x1.8618618618618p-5"),  # 1/21
    float.fromhex("0x1.642c8590b2164p-5"),  # 1/23
)

# AS241 (Wichura 1988, Applied Statistics 37(3) 477-484), PPND16.
# Coefficients listed highest degree first: A[0]*r**7 + ... + A[7].
SPLIT1 = 0.425           # |q| <= SPLIT1: central region
CONST1 = 0.180625        # 0.425**2 as a decimal literal
SPLIT2 = 5.0
CONST2 = 1.6

AS241_A = (  # central numerator
    2.5090809287301226727e+3, 3.3430575583588128105e+4, 6.7265770927008700853e+4,
    4.5921953931549871457e+4, 1.3731693765509461125e+4, 1.9715909503065514427e+3,
    1.3314166789178437745e+2, 3.3871328727963666080e+0,
)
AS241_B = (  # central denominator (constant term 1.0)
    5.2264952788528545610e+3, 2.8729085735721942674e+4, 3.9307895800092710610e+4,
    2.1213794301586595867e+4, 5.3941960214247511077e+3, 6.8718700749205790830e+2,
    4.2313330701600911252e+1, 1.0,
)
AS241_C = (  # tail (r <= 5) numerator
    7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
    1.27045825245236838258e+0, 3.64784832476320460504e+0, 5.76949722146069140550e+0,
    4.63033784615654529590e+0, 1.42343711074968357734e+0,
)
AS241_D = (  # tail (r <= 5) denominator
    1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
    1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940e+0,
    2.05319162663775882187e+0, 1.0,
)
AS241_E = (  # far tail (r > 5) numerator
    2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
    2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580e+0,
    5.46378491116411436990e+0, 6.65790464350110377720e+0,
)
AS241_F = (  # far tail (r > 5) denominator
    2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
    7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
    5.99832206555887937690e-1, 1.0,
)

# ---------------------------------------------------------------------------
# Pure-Python definition
# ---------------------------------------------------------------------------


def uniform52(a: int, b: int) -> float:
    """Two 32-bit words -> u = (2k+1) * 2**-53 with k = (a << 20) | (b >> 12)."""
    k = ((a & MASK32) << 20) | ((b & MASK32) >> 12)
    return float(2 * k + 1) * TWO_M53


def plog(x: float) -> float:
    """Portable natural logarithm of a positive normal binary64 ``x``.

    Exact range reduction x = m * 2**e with m in (sqrt(2)/2, sqrt(2)], then
    log(m) = 2*atanh(s), s = (m-1)/(m+1), by an 11-term series in s**2
    evaluated by Horner's rule.  Not correctly rounded (error about 1 ulp),
    but every step is a correctly rounded IEEE operation in a fixed order.
    """
    m, e = math.frexp(x)          # x = m * 2**e, 0.5 <= m < 1, exact
    m = m * 2.0                   # 1 <= m < 2, exact
    e = e - 1
    if m > SQRT2:
        m = m * 0.5               # exact
        e = e + 1
    f = m - 1.0                   # exact (Sterbenz)
    s = f / (2.0 + f)
    z = s * s
    t = LOG_C[10]
    for c in LOG_C[9::-1]:        # c_10 .. c_1
        t = t * z + c
    w = s + s * (z * t)
    logm = w + w
    fe = float(e)
    return (fe * LN2_LO + logm) + fe * LN2_HI


def _horner(coef: tuple[float, ...], r: float) -> float:
    acc = coef[0]
    for c in coef[1:]:
        acc = acc * r + c
    return acc


def ppnd(u: float) -> float:
    """AS241 PPND16 inverse normal CDF of ``u`` in (0, 1), binary64,
    with :func:`plog` as its logarithm."""
    q = u - 0.5
    if abs(q) <= SPLIT1:
        r = CONST1 - q * q
        return (_horner(AS241_A, r) * q) / _horner(AS241_B, r)
    r = u if q <= 0.0 else 1.0 - u
    r = math.sqrt(-plog(r))
    if r <= SPLIT2:
        r = r - CONST2
        x = _horner(AS241_C, r) / _horner(AS241_D, r)
    else:
        r = r - SPLIT2
        x = _horner(AS241_E, r) / _horner(AS241_F, r)
    return -x if q < 0.0 else x


def to_float32(x: float) -> float:
    """Round a binary64 to binary32 (nearest, ties to even); returned as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def float32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def block(seed: int, j: int) -> tuple[int, int, int, int]:
    """The four Philox words of block ``j`` of the stream for ``seed``."""
    return philox4x32((j & MASK32, (j >> 32) & MASK32, 0, 0), split_seed(seed))


def value(seed: int, n: int) -> float:
    """Value ``n`` of the stream for ``seed`` (a float32 value as a Python float)."""
    w = block(seed, n >> 1)
    h = (n & 1) * 2
    return to_float32(ppnd(uniform52(w[h], w[h + 1])))


# ---------------------------------------------------------------------------
# numpy fast path
# ---------------------------------------------------------------------------


def _np():
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - numpy is installed in CI
        raise NoiseUnavailable("numpy is needed for the array API of 'portable'; "
                               "use PortableStream.normal_list() without it") from exc
    return numpy


def plog_np(x):
    np = _np()
    m, e = np.frexp(np.asarray(x, dtype=np.float64))
    m = m * 2.0
    e = e.astype(np.int64) - 1
    big = m > SQRT2
    m = np.where(big, m * 0.5, m)
    e = np.where(big, e + 1, e)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    t = np.full_like(z, LOG_C[10])
    for c in LOG_C[9::-1]:
        t = t * z + c
    w = s + s * (z * t)
    logm = w + w
    fe = e.astype(np.float64)
    return (fe * LN2_LO + logm) + fe * LN2_HI


def _horner_np(coef, r):
    acc = coef[0] * r + coef[1]
    for c in coef[2:]:
        acc = acc * r + c
    return acc


def ppnd_np(u):
    np = _np()
    u = np.asarray(u, dtype=np.float64)
    q = u - 0.5
    x = np.empty_like(u)
    central = np.abs(q) <= SPLIT1
    if central.any():
        qc = q[central]
        r = CONST1 - qc * qc
        x[central] = (_horner_np(AS241_A, r) * qc) / _horner_np(AS241_B, r)
    tail = ~central
    if tail.any():
        qt = q[tail]
        ut = u[tail]
        r = np.where(qt <= 0.0, ut, 1.0 - ut)
        r = np.sqrt(-plog_np(r))
        xt = np.empty_like(r)
        near = r <= SPLIT2
        if near.any():
            rn = r[near] - CONST2
            xt[near] = _horner_np(AS241_C, rn) / _horner_np(AS241_D, rn)
        far = ~near
        if far.any():
            rf = r[far] - SPLIT2
            xt[far] = _horner_np(AS241_E, rf) / _horner_np(AS241_F, rf)
        x[tail] = np.where(qt < 0.0, -xt, xt)
    return x


def uniform52_np(a, b):
    np = _np()
    k = (np.asarray(a, dtype=np.uint32).astype(np.uint64) << np.uint64(20)) | (
        np.asarray(b, dtype=np.uint32).astype(np.uint64) >> np.uint64(12))
    return (k * np.uint64(2) + np.uint64(1)).astype(np.float64) * TWO_M53


def values_np(seed: int, start: int, count: int):
    """Values ``start .. start+count-1`` of the stream as a float32 array."""
    np = _np()
    if count == 0:
        return np.empty(0, dtype=np.float32)
    j0 = start >> 1
    j1 = (start + count - 1) >> 1
    j = np.arange(j0, j1 + 1, dtype=np.uint64)
    k0, k1 = split_seed(seed)
    w0, w1, w2, w3 = philox4x32_np(j & np.uint64(MASK32), j >> np.uint64(32), 0, 0, k0, k1)
    a = np.empty(2 * j.size, dtype=np.uint32)
    b = np.empty(2 * j.size, dtype=np.uint32)
    a[0::2], a[1::2] = w0, w2
    b[0::2], b[1::2] = w1, w3
    off = start & 1
    u = uniform52_np(a[off:off + count], b[off:off + count])
    return ppnd_np(u).astype(np.float32)


# ---------------------------------------------------------------------------
# Source and stream
# ---------------------------------------------------------------------------

_MAX_VALUES = 2**65  # 2**64 blocks of 2 values


class PortableStream:
    """One ``portable`` stream.  ``position`` is the index of the next value."""

    def __init__(self, seed: int, backend: str = "auto"):
        if backend not in ("auto", "numpy", "python"):
            raise ValueError(f"unknown backend {backend!r}")
        self.seed = check_seed(seed)
        self.position = 0
        self.backend = backend

    def _take(self, count: int) -> int:
        start = self.position
        if start + count > _MAX_VALUES:
            raise OverflowError("portable stream exhausted (2**65 values)")
        self.position = start + count
        return start

    def normal_list(self, count: int) -> list[float]:
        """Next ``count`` values, pure Python (no numpy): float32 values as Python floats."""
        start = self._take(int(count))
        out: list[float] = []
        for n in range(start, start + count):
            if n == start or not n & 1:
                w = block(self.seed, n >> 1)
            h = (n & 1) * 2
            out.append(to_float32(ppnd(uniform52(w[h], w[h + 1]))))
        return out

    def normal(self, shape: tuple[int, ...]) -> Any:
        """Next ``prod(shape)`` values as a float32 numpy array of ``shape``."""
        shape = check_shape(shape)
        count = numel(shape)
        np = _np()
        if self.backend == "python":
            return np.asarray(self.normal_list(count), dtype=np.float32).reshape(shape)
        start = self._take(count)
        return values_np(self.seed, start, count).reshape(shape)


class PortableSource:
    key = KEY

    def stream(self, seed: int, backend: str = "auto") -> PortableStream:
        return PortableStream(seed, backend)


SOURCE = PortableSource()
