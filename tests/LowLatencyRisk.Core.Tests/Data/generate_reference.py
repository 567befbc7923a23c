#!/usr/bin/env python3
"""Offline generator (mpmath, 50 significant digits) of
  1. the Mills-ratio tables embedded in src/LowLatencyRisk.Core/Pricing/NormalDistribution.cs
     (R(z0) and z0*R(z0)-1 at z0 = k/2, k = 0..80), printed as C# literals with --tables;
  2. ncdf_reference.csv: x, Phi(x) for x across [-38, 38] (dense in [-8, 8]) as round-trip doubles;
  3. with --rational, the central rational approximation R(z) = P(z)/Q(z), 0 <= z < 7.75 (degrees 9 and 10,
     Q(0) = 1), interpolating R at the 20 Chebyshev nodes of the interval, with its worst relative error
     (coefficients rounded to double, evaluated in double).
Run: python3 generate_reference.py > ncdf_reference.csv ; python3 generate_reference.py --tables ; python3 generate_reference.py --rational
"""
import sys
import mpmath

mpmath.mp.dps = 50


def mills(z):
    z = mpmath.mpf(z)
    return mpmath.sqrt(mpmath.pi / 2) * mpmath.exp(z * z / 2) * mpmath.erfc(z / mpmath.sqrt(2))


if "--tables" in sys.argv:
    a = [repr(float(mills(k / 2))) for k in range(81)]
    b = [repr(float(mpmath.mpf(k) / 2 * mills(k / 2) - 1)) for k in range(81)]
    print("MillsRatio = [" + ", ".join(a) + "]")
    print("MillsSlope = [" + ", ".join(b) + "]")
    sys.exit(0)

if "--rational" in sys.argv:
    n, m, a, b = 9, 10, mpmath.mpf(0), mpmath.mpf("7.75")
    count = n + m + 1
    nodes = [(a + b) / 2 + (b - a) / 2 * mpmath.cos(mpmath.pi * (2 * k + 1) / (2 * count)) for k in range(count)]
    matrix = mpmath.matrix(count, count)
    rhs = mpmath.matrix(count, 1)
    for i, z in enumerate(nodes):
        f = mills(z)
        for j in range(n + 1):
            matrix[i, j] = z ** j
        for j in range(1, m + 1):
            matrix[i, n + j] = -f * z ** j
        rhs[i] = f
    c = mpmath.lu_solve(matrix, rhs)
    p = [float(c[j]) for j in range(n + 1)]
    q = [1.0] + [float(c[n + j]) for j in range(1, m + 1)]
    worst = 0
    for i in range(20001):
        z = 7.75 * i / 20000
        pv = 0.0
        for coefficient in reversed(p):
            pv = pv * z + coefficient
        qv = 0.0
        for coefficient in reversed(q):
            qv = qv * z + coefficient
        worst = max(worst, abs(mpmath.mpf(pv / qv) / mills(z) - 1))
    print("P = [" + ", ".join(repr(v) for v in p) + "]")
    print("Q = [" + ", ".join(repr(v) for v in q) + "]")
    print("worst relative error in double:", mpmath.nstr(worst, 3))
    sys.exit(0)

xs = []
# Dense, irregular grid in [-8, 8] (not aligned with the table points) plus the tails.
n = 4000
for i in range(n + 1):
    xs.append(-8.0 + 16.0 * i / n + 1.2345e-4)
for i in range(1, 300):
    xs.append(-8.0 - 30.0 * i / 300)
    xs.append(8.0 + 30.0 * i / 300)
xs += [0.0, -0.0, 1e-300, -1e-12, 1e-12, -37.0, -37.5]
print("x,phi")
for x in xs:
    x = float(x)
    print(f"{x!r},{float(mpmath.ncdf(mpmath.mpf(x)))!r}")
