#!/usr/bin/env python3
"""Offline generator (mpmath, 80 digits) of the constants in src/LowLatencyRisk.Core/Pricing/SimdMath.cs.

Each polynomial interpolates its function at the Chebyshev nodes of its interval (near-minimax);
the script prints the coefficients (lowest degree first, rounded to double) and the worst error of
the rounded polynomial on a dense grid, weighted as it enters the final result.
Run: python3 generate_simd_math.py
"""
import struct
import mpmath

mpmath.mp.dps = 80


def fit(f, a, b, deg, weight):
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    n = deg + 1
    nodes = [(a + b) / 2 + (b - a) / 2 * mpmath.cos(mpmath.pi * (2 * k + 1) / (2 * n)) for k in range(n)]
    m = mpmath.matrix(n, n)
    y = mpmath.matrix(n, 1)
    for i, x in enumerate(nodes):
        for j in range(n):
            m[i, j] = x ** j
        y[i] = f(x)
    c = mpmath.lu_solve(m, y)
    cs = [float(c[j]) for j in range(n)]
    worst = mpmath.mpf(0)
    for i in range(3001):
        x = a + (b - a) * i / 3000
        v = mpmath.mpf(0)
        for cc in reversed(cs):
            v = v * x + mpmath.mpf(cc)
        worst = max(worst, abs(v - f(x)) * weight(x))
    return cs, worst


def show(name, cs, worst):
    print(f"{name}: weighted error {mpmath.nstr(worst, 3)}")
    print("    " + ", ".join(repr(c) for c in cs))


ln2 = mpmath.log(2)
bits = struct.unpack("<Q", struct.pack("<d", float(ln2)))[0] & ~((1 << 20) - 1)
ln2_hi = struct.unpack("<d", struct.pack("<Q", bits))[0]
print("Ln2Hi", repr(ln2_hi), "Ln2Lo", repr(float(ln2 - mpmath.mpf(ln2_hi))), "InvLn2", repr(float(1 / ln2)))

# exp: e^r = 1 + r + r^2 q(r), |r| <= ln2/2 (slightly widened); error weighted by r^2 / e^r (relative).
r_max = ln2 / 2 * mpmath.mpf("1.001")
q_exp = lambda r: mpmath.fsum(r ** k / mpmath.factorial(k + 2) for k in range(60))
show("exp q (degree 9)", *fit(q_exp, -r_max, r_max, 9, lambda r: r * r / mpmath.exp(r)))

# log, AVX-512: x = 2^e m, m in [3/4, 3/2) in 16 intervals of width 3/64; c_j the centre (c_5 = 1 exactly,
# so x near 1 keeps full relative accuracy); 1/c_j rounded to double; log c_j = -log(1/c_j rounded).
inv, logc = [], []
for j in range(16):
    c = mpmath.mpf(1) if j == 5 else mpmath.mpf("0.75") + 3 * (j + mpmath.mpf("0.5")) / 64
    ic = float(1 / c)
    inv.append(ic)
    logc.append(float(-mpmath.log(mpmath.mpf(ic))))
print("LogInvC", ", ".join(repr(v) for v in inv))
print("LogC", ", ".join(repr(v) for v in logc))
# log1p(r) = r + r^2 q(r), |r| <= 0.0325; error weighted by r^2 / |log1p r| (relative).
q_log = lambda r: mpmath.fsum((-1) ** (k + 1) * r ** k / (k + 2) for k in range(120))
show("log1p q (degree 7)", *fit(q_log, "-0.0325", "0.0325", 7, lambda r: r * r / abs(mpmath.log1p(r)) if r != 0 else 0))

# log, AVX2: m in [sqrt2/2, sqrt2), s = (m-1)/(m+1), log m = 2s + s z P(z), z = s^2; error weighted by z/2 (relative).
s_max = (mpmath.sqrt(2) - 1) / (mpmath.sqrt(2) + 1)
p_atanh = lambda z: mpmath.fsum(2 * z ** k / (2 * k + 3) for k in range(80))
show("atanh P (degree 6)", *fit(p_atanh, 0, s_max * s_max * mpmath.mpf("1.001"), 6, lambda z: z / 2))
