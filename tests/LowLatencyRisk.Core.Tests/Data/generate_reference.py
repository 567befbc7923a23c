#!/usr/bin/env python3
"""Offline generator (mpmath, 50 significant digits) of
  1. the Mills-ratio tables embedded in src/LowLatencyRisk.Core/Pricing/NormalDistribution.cs
     (R(z0) and z0*R(z0)-1 at z0 = k/2, k = 0..80), printed as C# literals with --tables;
  2. ncdf_reference.csv: x, Phi(x) for x across [-38, 38] (dense in [-8, 8]) as round-trip doubles.
Run: python3 generate_reference.py > ncdf_reference.csv ; python3 generate_reference.py --tables
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
