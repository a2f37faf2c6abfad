r"""Every number printed by notebooks/05_flattening_flows.ipynb, recomputed independently.

The notebook integrates the balancing flow ``X' = -XC, Y' = YC`` in factor form
(``flatlib.problems.balancing.balancing_flow``), computes ``λ_max`` from the library's Hessian and ``f°``
with ``flatlib.max_variation``. Here nothing of that is used:

* the start is rebuilt from the documented recipe of ``random_global_min`` (SVD + QR, same
  generator), and ``M`` from ``default_rng(seed)``;
* the trajectory comes from the **Riccati equation** ``P' = 2(B - PAP)``, ``P(0) = I``,
  ``A = X₀ᵀX₀``, ``B = Y₀ᵀY₀`` (``X = X₀G``, ``Y = Y₀G⁻ᵀ``, ``P = GGᵀ``).  The flow point is
  ``(X₀G, Y₀G⁻ᵀ)`` with ``G = P^{1/2}Q`` for some orthogonal ``Q``; every printed quantity
  (``||C||_F``, the squared norm, ``λ_max``, ``f°``) is invariant under the isometry
  ``(X, Y) -> (XQ, YQ)``, which preserves ``f``, so we evaluate at ``(X₀P^{1/2}, Y₀P^{-1/2})``;
* ``λ_max`` at a global minimum is ``||J||₂²`` with ``J`` the Jacobian of ``(X, Y) -> XYᵀ``
  (Gauss–Newton; the residual term is ``O(||XYᵀ - M||) = O(1e-14)``), assembled column by column;
* ``f°(x, ρ)`` at a global minimum is ``max_{||u|| = ρ} f(x + u)`` (the Hessian of ``f`` has
  positive trace ``n||X||² + m||Y||²`` everywhere except at 0, so ``f`` has no interior local
  maximum), computed by BFGS over the sphere from the top Gauss–Newton eigenvectors and random
  starts;
* scalar factorization: closed forms on ``xy = c`` (limit ``sign(x₀, y₀)·√|c|``,
  ``x² + y² = 2|c| cosh θ``).

The expected strings are the numbers the notebook prints with its default parameters.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nbparams import notebook_parameters
from scipy.integrate import cumulative_simpson, solve_ivp
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
NB_SRC = ROOT / "notebooks" / "src" / "05_flattening_flows.py"

PARAMS = dict(seed=2, m=5, n=4, r=3, orbit_scale=1.0, T=25.0, n_times=600, radii=[0.1, 0.5, 1.0],
              fo_times=[0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 25.0], n_starts=4, fast=False)
SEED, m, n, r, T = PARAMS["seed"], PARAMS["m"], PARAMS["n"], PARAMS["r"], PARAMS["T"]

PRINTED = {
    "scalar": [  # start, xy, limit, lambda_max start, lambda_max end
        ((3.0, 1 / 3), "1.000", ("1.0000", "1.0000"), "9.1111", "2.0000"),
        ((0.25, 4.0), "1.000", ("1.0000", "1.0000"), "16.0625", "2.0000"),
        ((-2.5, -0.4), "1.000", ("-1.0000", "-1.0000"), "6.4100", "2.0000"),
        ((-0.3, -1 / 0.3), "1.000", ("-1.0000", "-1.0000"), "11.2011", "2.0000"),
        ((2.5, 1.2), "3.000", ("1.7321", "1.7321"), "7.6900", "6.0000"),
        ((0.6, -2.0), "-1.200", ("1.0954", "-1.0954"), "4.3600", "2.4000"),
    ],
    "sigma": ["6.7973", "1.8881", "0.2462"],
    "two_s1": "13.5946", "two_tr": "17.8632",
    "start": {"C": "38.1103", "norm": "54.3487", "lam": "42.8111"},
    "end": {"norm": "17.8632", "lam": "13.5946"},
    "rounded": {"lam0": "42.81", "lam1": "13.59", "norm0": "54.35", "norm1": "17.86"},
    "rate": "0.9848", "four_sr": "0.9848", "n_charges": 6,
    "lam_rate": "30", "four_sr_2": "0.98", "C_at_1": "0.24",
    "fo_table": [  # t, ||C||_F (or None for "< 1e-3"), lambda_max, f° at the three radii
        (0.0, "38.1103", "42.8111", ("0.2149", "5.4819", "22.6758")),
        (0.003, "31.3304", "36.1528", ("0.1817", "4.6598", "19.4187")),
        (0.01, "22.1724", "27.3830", ("0.1380", "3.5831", "15.1692")),
        (0.03, "11.8998", "18.4730", ("0.0938", "2.5063", "10.9562")),
        (0.1, "3.8551", "13.9473", ("0.0716", "1.9780", "8.9205")),
        (0.3, "1.0072", "13.5953", ("0.0698", "1.9377", "8.7662")),
        (1.0, "0.2417", "13.5946", ("0.0698", "1.9376", "8.7659")),
        (3.0, "0.0317", "13.5946", ("0.0698", "1.9376", "8.7659")),
        (25.0, None, "13.5946", ("0.0698", "1.9376", "8.7659")),
    ],
    "fo_balanced": ("0.0698", "1.9376", "8.7659"),
    "orbit_min": "17.8632",
    "random_orbit": {"norm": "18.1561", "lam": "13.6511"},
}


def fmt(x, d=4):
    s = f"{x:.{d}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def test_parameters_match_the_notebook():
    env = notebook_parameters(NB_SRC.stem)
    env["fo_times"] = [float(t) for t in env["fo_times"]]
    for k, v in PARAMS.items():
        assert env[k] == v, k


# --------------------------------------------------------------------------- scalar
@pytest.mark.parametrize("row", PRINTED["scalar"])
def test_scalar_table(row):
    (x0, y0), c_s, (xl_s, yl_s), l0_s, l1_s = row
    c = x0 * y0
    assert fmt(c, 3) == c_s
    assert (fmt(np.sign(x0) * np.sqrt(abs(c))), fmt(np.sign(y0) * np.sqrt(abs(c)))) == (xl_s, yl_s)
    assert fmt(x0 ** 2 + y0 ** 2) == l0_s
    assert fmt(2 * abs(c)) == l1_s                        # 2|c| cosh 0
    # the closed form reaches the limit by t = 5 (the notebook's final time) to 1e-8
    theta = 2 * np.arctanh(np.tanh(np.log(x0 ** 2 / abs(c)) / 2) * np.exp(-4 * abs(c) * 5.0))
    assert abs(np.sqrt(abs(c)) * np.exp(theta / 2) - np.sqrt(abs(c))) <= 1e-8


# --------------------------------------------------------------------------- matrix case
def setup():
    gen = np.random.default_rng(SEED)
    A = gen.standard_normal((m, r))
    B = gen.standard_normal((n, r))
    M = A @ B.T
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    Xb, Yb = U[:, :r] * np.sqrt(s[:r]), Vt[:r].T * np.sqrt(s[:r])
    # the recipe of random_global_min(M, r, rng=gen, scale)
    Q1, _ = np.linalg.qr(gen.standard_normal((r, r)))
    Q2, _ = np.linalg.qr(gen.standard_normal((r, r)))
    G = (Q1 * np.exp(PARAMS["orbit_scale"] * gen.standard_normal(r))) @ Q2
    return M, s, Xb, Yb, Xb @ G, Yb @ np.linalg.inv(G).T


M, SIG, XB, YB, X0, Y0 = setup()


def sqrtm_psd(S):
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    return (V * np.sqrt(w)) @ V.T


def riccati(times):
    A, B = X0.T @ X0, Y0.T @ Y0
    sol = solve_ivp(lambda t, p: (2 * (B - p.reshape(r, r) @ A @ p.reshape(r, r))).ravel(),
                    (0.0, max(times)), np.eye(r).ravel(), t_eval=times, method="Radau",
                    rtol=1e-12, atol=1e-14)
    return [p.reshape(r, r) for p in sol.y.T]


def point(Pm):
    G = sqrtm_psd(Pm)
    return X0 @ G, Y0 @ np.linalg.inv(G)


def jacobian(X, Y):
    cols = []
    for i in range(m):
        for k in range(r):
            E = np.zeros((m, r)); E[i, k] = 1.0
            cols.append((E @ Y.T).ravel())
    for j in range(n):
        for k in range(r):
            E = np.zeros((n, r)); E[j, k] = 1.0
            cols.append((X @ E.T).ravel())
    return np.array(cols).T


def lam_gn(X, Y):
    return np.linalg.norm(jacobian(X, Y), 2) ** 2


def c_norm(X, Y):
    return np.linalg.norm(X.T @ X - Y.T @ Y)


def sq(X, Y):
    return float(np.sum(X ** 2) + np.sum(Y ** 2))


def fo_sphere(X, Y, rho, n_random=6, seed=0):
    """max over ||u|| = ρ of f(z + u), z = (X, Y) a global minimum, by BFGS on w -> ρ w/||w||."""
    z = np.concatenate([X.ravel(), Y.ravel()])
    N = z.size

    def neg(w):
        nw = np.linalg.norm(w)
        u = rho * w / nw
        Xu = (z + u)[: m * r].reshape(m, r)
        Yu = (z + u)[m * r:].reshape(n, r)
        R = Xu @ Yu.T - M
        gz = np.concatenate([(R @ Yu).ravel(), (R.T @ Xu).ravel()])
        gw = rho / nw * (gz - (gz @ w) * w / nw ** 2)
        return -0.5 * float(np.sum(R * R)), -gw

    J = jacobian(X, Y)
    _, _, Vt = np.linalg.svd(J)
    starts = [Vt[0], -Vt[0], Vt[1], -Vt[1]]
    rng = np.random.default_rng(seed)
    starts += list(rng.standard_normal((n_random, N)))
    best = 0.0
    for w0 in starts:
        res = minimize(neg, w0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000})
        best = max(best, -res.fun)
    return best


def test_setup_numbers():
    assert [fmt(v) for v in SIG[:r]] == PRINTED["sigma"]
    assert fmt(2 * SIG[0]) == PRINTED["two_s1"] and fmt(2 * SIG[:r].sum()) == PRINTED["two_tr"]
    assert np.linalg.matrix_rank(M) == r
    assert 0.5 * np.sum((X0 @ Y0.T - M) ** 2) <= 1e-20
    assert fmt(c_norm(X0, Y0)) == PRINTED["start"]["C"]
    assert fmt(sq(X0, Y0)) == PRINTED["start"]["norm"]
    assert fmt(lam_gn(X0, Y0)) == PRINTED["start"]["lam"]
    # the library recipe gives the same start
    from flatlib.problems.matrix_factorization import random_global_min

    gen = np.random.default_rng(SEED)
    gen.standard_normal((m, r)); gen.standard_normal((n, r))
    Xl, Yl = random_global_min(M, r, rng=gen, scale=PARAMS["orbit_scale"])
    np.testing.assert_allclose(Xl, X0, atol=1e-12)
    np.testing.assert_allclose(Yl, Y0, atol=1e-12)


def test_end_numbers_and_closed_forms():
    """Limit: the orbit's minimal norm 2 tr Σ_r and λ_max = 2σ₁; P(T) -> P* with P*AP* = B."""
    (PT,) = riccati([T])
    X, Y = point(PT)
    assert c_norm(X, Y) <= 1e-9
    assert fmt(sq(X, Y)) == PRINTED["end"]["norm"] == fmt(2 * SIG[:r].sum()) == PRINTED["orbit_min"]
    assert fmt(lam_gn(X, Y)) == PRINTED["end"]["lam"] == fmt(2 * SIG[0])
    A, B = X0.T @ X0, Y0.T @ Y0
    Ah = sqrtm_psd(A)
    K = sqrtm_psd(Ah @ B @ Ah)
    assert 2 * np.trace(K) == pytest.approx(2 * SIG[:r].sum(), rel=1e-12)      # 2||M||_*
    Ps = np.linalg.inv(Ah) @ K @ np.linalg.inv(Ah)
    np.testing.assert_allclose(Ps @ A @ Ps, B, atol=1e-10)
    np.testing.assert_allclose(PT, Ps, rtol=1e-8, atol=1e-9)
    lam0 = lam_gn(X0, Y0)
    rd = PRINTED["rounded"]
    assert (f"{lam0:.2f}", f"{lam_gn(X, Y):.2f}", f"{sq(X0, Y0):.2f}", f"{sq(X, Y):.2f}") == \
        (rd["lam0"], rd["lam1"], rd["norm0"], rd["norm1"])
    # balanced limit: its Hessian spectrum is the closed form (top 2σ₁) and it is a global min
    assert 0.5 * np.sum((X @ Y.T - M) ** 2) <= 1e-20


def test_identities_and_monotonicity_on_the_riccati_path():
    """Along the Riccati path (points (X₀P^{1/2}, Y₀P^{-1/2})): the integrated identity
    N(t) - N(0) = -2∫tr C² for the squared norm N, and ||C||, N, λ_max nonincreasing."""
    t = np.concatenate([[0.0], np.geomspace(1e-4, 3.0, 500)])
    Ps = riccati(t)
    pts = [point(Pm) for Pm in Ps]
    N = np.array([sq(X, Y) for X, Y in pts])
    trC2 = np.array([np.sum((X.T @ X - Y.T @ Y) ** 2) for X, Y in pts])
    Cn = np.sqrt(trC2)
    lam = np.array([lam_gn(X, Y) for X, Y in pts[::10]])
    err = np.abs(N - N[0] + 2 * cumulative_simpson(trC2, x=t, initial=0.0)) / N[0]
    assert err.max() <= 1e-6
    assert np.all(np.diff(N) <= 1e-12 * N[0]) and np.all(np.diff(Cn) <= 1e-12 * Cn[0])
    assert np.all(np.diff(lam) <= 1e-10 * lam[0])


def test_late_rate():
    """The notebook fits log ||C|| where 1e-9 <= ||C||/||C(0)|| <= 1e-6 (late, above the accuracy of
    the integration); here on a uniform grid of the Riccati path in the same window."""
    t = np.linspace(5.0, 25.0, 401)
    Ps = riccati(np.concatenate([[0.0], t]))
    C0 = c_norm(*point(Ps[0]))
    Cn = np.array([c_norm(*point(Pm)) for Pm in Ps[1:]])
    w = (Cn >= 1e-9 * C0) & (Cn <= 1e-6 * C0)
    assert w.sum() >= 50 and 5.0 < t[w].min() and t[w].max() < 25.0      # the window lies inside the grid
    t, Cn = t[w], Cn[w]
    rate = -np.polyfit(t, np.log(Cn), 1)[0]
    assert fmt(rate) == PRINTED["rate"]
    assert fmt(4 * SIG[r - 1]) == PRINTED["four_sr"]
    assert PRINTED["n_charges"] == r * (r + 1) // 2          # dim Sym(r): the charges of C


def test_fo_table():
    """f°(x(t), ρ), ||C||, λ_max at the printed times, and at the balanced factors."""
    rows = PRINTED["fo_table"]
    Ps = riccati([row[0] for row in rows])
    prev = None
    for (t, c_s, l_s, fo_s), Pm in zip(rows, Ps):
        X, Y = point(Pm)
        cn = c_norm(X, Y)
        assert (fmt(cn) if cn >= 1e-3 else None) == c_s, t
        assert fmt(lam_gn(X, Y)) == l_s, t
        vals = [fo_sphere(X, Y, rho) for rho in PARAMS["radii"]]
        for v, s_ in zip(vals, fo_s):
            assert abs(v - float(s_)) <= 5.01e-5 + 1e-7 * v, (t, v, s_)
        if prev is not None:
            assert all(a <= b * (1 + 1e-8) for a, b in zip(vals, prev))
        prev = vals
    vals = [fo_sphere(XB, YB, rho) for rho in PARAMS["radii"]]
    for v, s_ in zip(vals, PRINTED["fo_balanced"]):
        assert abs(v - float(s_)) <= 5.01e-5 + 1e-7 * v
    # small radius: f°/ρ² ≈ σ₁ at the balanced point (to O(ρ))
    assert abs(vals[0] / 0.01 / SIG[0] - 1) <= 0.05


def test_random_orbit_points():
    orng = np.random.default_rng(SEED + 1)
    norms, lams = [], []
    for _ in range(300):
        W = orng.standard_normal((r, r)) * orng.uniform(0.1, 0.9)
        w, V = np.linalg.eigh(W + W.T)
        H = (V * np.exp(w / 2)) @ V.T
        X, Y = XB @ H, YB @ np.linalg.inv(H).T
        norms.append(sq(X, Y))
        lams.append(lam_gn(X, Y))
    assert fmt(min(norms)) == PRINTED["random_orbit"]["norm"]
    assert fmt(min(lams)) == PRINTED["random_orbit"]["lam"]
    assert min(norms) >= 2 * SIG[:r].sum() and min(lams) >= 2 * SIG[0]


def test_lambda_max_excess_rate_and_flat_at_t1():
    """λ_max/2σ₁ - 1 along the Riccati path: fitted decay rate where 1e-9 <= λ_max/2σ₁ - 1 <= 1e-3
    (printed as an integer), and at t = 1 (the first f° time at which it is flat) the point is flat
    (λ_max = 2σ₁ to 1e-10, f° = balanced to 1e-8 at the three radii) though ||C||_F is still 0.24,
    6.3e-3 of ||C(0)||_F; at t = 0.3, the f° time before, it is not flat yet."""
    # the notebook's output times in [0.05, 1] (a geometric grid plus the f° times): the fitted rate,
    # about 29.5, is printed to an integer, so the fit must use the same points
    t_eval = np.unique(np.concatenate([[0.0], np.geomspace(1e-4, T, PARAMS["n_times"]), PARAMS["fo_times"]]))
    t = t_eval[(t_eval >= 0.05) & (t_eval <= 1.0)]
    Ps = riccati(np.concatenate([[0.0], t]))
    ex = np.array([lam_gn(*point(Pm)) / (2 * SIG[0]) - 1 for Pm in Ps[1:]])
    w = (ex >= 1e-9) & (ex <= 1e-3)
    assert w.sum() >= 40 and t[w].min() > t[0] and t[w].max() < t[-1]
    k = -np.polyfit(t[w], np.log(ex[w]), 1)[0]
    assert f"{k:.0f}" == PRINTED["lam_rate"]
    # between the rates 4(σ₁ + σ_r) and 4(σ₁ + σ₂), twice those of the top modes of C; the notebook
    # checks the looser [2(σ₁ + σ_r), 8σ₁] (printed as 14.1 and 54.4)
    assert 4 * (SIG[0] + SIG[r - 1]) <= k <= 4 * (SIG[0] + SIG[1])
    assert (f"{2 * (SIG[0] + SIG[r - 1]):.1f}", f"{8 * SIG[0]:.1f}") == ("14.1", "54.4")
    assert f"{4 * SIG[r - 1]:.2f}" == PRINTED["four_sr_2"]
    i3 = int(np.argmin(np.abs(t - 0.3)))
    assert abs(t[i3] - 0.3) < 1e-12 and t[-1] == 1.0
    X3, Y3 = point(Ps[1 + i3])
    assert lam_gn(X3, Y3) / (2 * SIG[0]) - 1 > 1e-10                     # not flat at t = 0.3
    X, Y = point(Ps[-1])
    assert f"{c_norm(X, Y):.2g}" == PRINTED["C_at_1"]
    assert f"{c_norm(X, Y) / c_norm(*point(Ps[0])):.1e}" == "6.3e-03"
    assert abs(lam_gn(X, Y) / (2 * SIG[0]) - 1) <= 1e-10
    for rho in PARAMS["radii"]:
        assert abs(fo_sphere(X, Y, rho) / fo_sphere(XB, YB, rho) - 1) <= 1e-8, rho
