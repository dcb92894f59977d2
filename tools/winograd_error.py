#!/usr/bin/env python3
"""How much accuracy each Winograd tile size F(m x m, 3 x 3) costs in f32 -- the measurement
behind "this crate stops at F(4x4, 3x3)" (crates/kernels/src/winograd/mod.rs, book chapter 5).

For F(2x2), F(4x4) and F(6x6) this builds the transforms from interpolation points (the
Cook-Toom construction with the point at infinity: Aᵀ and G are Vandermonde rows, Bᵀ is solved
for so that the 1-D algorithm is exact, and checked to be), then runs the 2-D algorithm on the
seed's decoder shapes in float32 -- input transform, 36/64 channel sums, output transform, as
our kernel does -- and compares with the direct convolution computed in float64. The error is
reported, like the Rust tests report it, as max |y - y_exact| / max |y_exact|; the f32 direct
convolution (an im2col matrix product) is the floor.

    .venv/bin/python tools/winograd_error.py [--seed 0] [--json-out docs/figures/winograd_error.json]

Inputs are uniform in [0, 6) (what a ReLU6 leaves), weights normal with std 1/sqrt(9 Cin), so
outputs are O(1) as in a trained network. Pure numpy; no Keras needed.
"""

import argparse
import json
from fractions import Fraction

import numpy as np

# The points each tile size uses (plus the point at infinity): the classic choices. F(6x6) needs
# two more than F(4x4), and 1/2 is the next best after 0, +-1, +-2 (Lavin & Gray 2016; ncnn and
# NNPACK use the same set).
POINTS = {
    2: [0, 1, -1],
    4: [0, 1, -1, 2, -2],
    6: [0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2)],
}

# The seed's decoder at 224x224 (alpha 1.0, l1_skip_conn off): (name, H = W, Cin, Cout).
SHAPES = [
    ("dec1", 14, 512, 512),
    ("dec2", 28, 768, 256),
    ("dec3", 56, 384, 128),
    ("dec4", 112, 128, 64),
]


def transforms(m, r=3):
    """(Aᵀ [m x n], G [n x r], Bᵀ [n x n]) of F(m, r), n = m + r - 1, as float64.

    Aᵀ[i, j] = p_j^i and G[j, k] = p_j^k / prod_{l != j} (p_j - p_l) for the finite points;
    the point at infinity is the last column of Aᵀ (1 in the last row) and the last row of G
    (1 in the last column). Bᵀ then follows from the exactness condition
    sum_j Aᵀ[i, j] G[j, k] Bᵀ[j, l] = [l == i + k], solved exactly in rationals."""
    p = [Fraction(v) for v in POINTS[m]]
    n = m + r - 1
    assert len(p) == n - 1
    at = [[p[j] ** i for j in range(n - 1)] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = []
    for j in range(n - 1):
        f = Fraction(1)
        for k in range(n - 1):
            if k != j:
                f *= p[j] - p[k]
        g.append([p[j] ** k / f for k in range(r)])
    g.append([Fraction(int(k == r - 1)) for k in range(r)])
    # For each column l of Bᵀ's row j the conditions are linear in Bᵀ[:, l]: stack all (i, k)
    # and solve; the system is square in effect (n unknowns per l, full rank).
    bt = [[Fraction(0)] * n for _ in range(n)]
    for col in range(n):
        rows, rhs = [], []
        for i in range(m):
            for k in range(r):
                rows.append([at[i][j] * g[j][k] for j in range(n)])
                rhs.append(Fraction(int(col == i + k)))
        sol = solve_exact(rows, rhs)
        for j in range(n):
            bt[j][col] = sol[j]
    to_f = lambda mat: np.array([[float(v) for v in row] for row in mat])  # noqa: E731
    at, g, bt = to_f(at), to_f(g), to_f(bt)
    # Exactness of the 1-D algorithm, checked in float64 on random data.
    rng = np.random.default_rng(1)
    d, w = rng.normal(size=n), rng.normal(size=r)
    direct = np.array([d[i : i + r] @ w for i in range(m)])
    assert np.allclose(at @ ((g @ w) * (bt @ d)), direct, atol=1e-12), "F(%d,3) not exact" % m
    return at, g, bt


def solve_exact(rows, rhs):
    """Least-squares-free exact solve of an overdetermined but consistent rational system
    (Gauss-Jordan on the normal equations would lose exactness; this eliminates directly)."""
    a = [row[:] + [b] for row, b in zip(rows, rhs)]
    n = len(rows[0])
    piv_row = 0
    where = [-1] * n
    for c in range(n):
        sel = next((i for i in range(piv_row, len(a)) if a[i][c] != 0), None)
        if sel is None:
            continue
        a[piv_row], a[sel] = a[sel], a[piv_row]
        inv = 1 / a[piv_row][c]
        a[piv_row] = [v * inv for v in a[piv_row]]
        for i in range(len(a)):
            if i != piv_row and a[i][c] != 0:
                f = a[i][c]
                a[i] = [vi - f * vp for vi, vp in zip(a[i], a[piv_row])]
        where[c] = piv_row
        piv_row += 1
    assert all(w >= 0 for w in where), "the exactness system is singular"
    assert all(all(v == 0 for v in row) for row in a[piv_row:]), "the exactness system is inconsistent"
    return [a[where[c]][n] for c in range(n)]


def direct_conv(x, w, dtype):
    """'same' 3x3 stride-1 convolution of x [H, W, Cin] with w [3, 3, Cin, Cout] as one im2col
    product in ``dtype``."""
    h, wd, cin = x.shape
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0))).astype(dtype)
    cols = np.concatenate([xp[ky : ky + h, kx : kx + wd] for ky in range(3) for kx in range(3)], axis=-1)
    return (cols.reshape(h * wd, 9 * cin) @ w.astype(dtype).reshape(9 * cin, -1)).reshape(h, wd, -1)


def winograd_conv(x, w, m):
    """The same convolution by F(m x m, 3 x 3) in float32 (weights transformed in float64 and
    rounded once, as our kernel's load-time transform does)."""
    at, g, bt = transforms(m)
    n = m + 2
    h, wd, cin = x.shape
    cout = w.shape[3]
    th, tw = -(-h // m), -(-wd // m)
    # Zero padding: 1 before (the 'same' border), enough after for whole tiles.
    xp = np.zeros((th * m + 2, tw * m + 2, cin), np.float32)
    xp[1 : h + 1, 1 : wd + 1] = x
    # U[ξ, Cin, Cout] = G g Gᵀ per filter.
    u = np.einsum("ak,klio,bl->abio", g, w.astype(np.float64), g).reshape(n * n, cin, cout).astype(np.float32)
    bt32, at32 = bt.astype(np.float32), at.astype(np.float32)
    y = np.empty((th * m, tw * m, cout), np.float32)
    for ty in range(th):
        # All tiles of one tile row at once: d [tw, n, n, Cin].
        d = np.stack([xp[ty * m : ty * m + n, tx * m : tx * m + n] for tx in range(tw)])
        v = np.einsum("ai,tijc,bj->tabc", bt32, d, bt32).reshape(tw, n * n, cin)
        mm = np.einsum("txc,xco->txo", v, u).reshape(tw, n, n, cout)
        out = np.einsum("ai,tijo,bj->tabo", at32, mm, at32)
        y[ty * m : (ty + 1) * m] = out.transpose(1, 0, 2, 3).reshape(m, tw * m, cout)
    return y[:h, :wd]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out", help="also write the table as JSON")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    for m in POINTS:
        at, g, bt = transforms(m)
        print("F(%dx%d,3x3): largest |entry| Bᵀ %.3g, G %.3g, Aᵀ %.3g" % (
            m, m, np.abs(bt).max(), np.abs(g).max(), np.abs(at).max()))
    rows = []
    print("%-5s %-16s %12s %12s %12s %12s" % ("layer", "shape", "direct f32", "F(2x2)", "F(4x4)", "F(6x6)"))
    for name, s, cin, cout in SHAPES:
        x = rng.uniform(0, 6, size=(s, s, cin)).astype(np.float32)
        w = (rng.normal(size=(3, 3, cin, cout)) / np.sqrt(9 * cin)).astype(np.float32)
        exact = direct_conv(x, w, np.float64)
        scale = np.abs(exact).max()
        err = {"direct_f32": float(np.abs(direct_conv(x, w, np.float32) - exact).max() / scale)}
        for m in POINTS:
            err["F%d" % m] = float(np.abs(winograd_conv(x, w, m) - exact).max() / scale)
        rows.append({"layer": name, "size": s, "in_c": cin, "out_c": cout, **err})
        print("%-5s %-16s %12.2e %12.2e %12.2e %12.2e" % (
            name, "%dx%d %d->%d" % (s, s, cin, cout), err["direct_f32"], err["F2"], err["F4"], err["F6"]))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"seed": args.seed, "metric": "max |y - y_f64| / max |y_f64|", "rows": rows}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
