"""The README's code runs as doctests (their printed outputs are checked), and the numbers it
prints agree with independent computations."""
import doctest
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _tour():
    return _blocks()[0]


def _own_model():
    """The ``python`` block of the section "Use flatlib on your own model"."""
    text = README.read_text()
    section = text[text.index("## Use flatlib on your own model"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _run(block, name):
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block, {}, name, str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, clear_globs=False)
    return test, runner


def test_tour_outputs_are_what_it_prints():
    # catches: a README whose shown outputs drift from what the library returns
    test, runner = _run(_tour(), "README tour")
    assert len(test.examples) >= 8
    assert runner.failures == 0, "the README tour's outputs differ from what flatlib returns"


def _profile_11(r, k=200_001):
    # f(1+u) for f = ½(xy-1)² at (1, 1): ½(u1 + u2 + u1 u2)²; on the circle of radius r the
    # maximum of |u1 + u2 + u1 u2| is at θ = π/4: √2 r + r²/2 (the inside has no larger value,
    # since the function of u grows along rays for small r). Dense angle grid as a check.
    t = np.linspace(0, 2 * np.pi, k)
    u1, u2 = r * np.cos(t), r * np.sin(t)
    return np.max(0.5 * (u1 + u2 + u1 * u2) ** 2)


def test_tour_numbers_against_independent_values():
    # catches: the printed f° or f¯ agreeing with the library but not with the mathematics
    block = _tour()
    mv = float(re.search(r"round\(res\.value, 8\).*\n(\S+)", block).group(1))
    closed = 0.5 * (np.sqrt(2) * 0.1 + 0.005) ** 2
    assert abs(mv - closed) <= 5e-9 and abs(_profile_11(0.1) - closed) <= 1e-10
    ld = float(re.search(r"level_distance.*\n(\S+)", block).group(1))
    # f¯((2, ½), d) = inf{r : f°(x, r) >= d}; f(x+u) = ½(½u1 + 2u2 + u1u2)², maximal on the circle.
    t = np.linspace(0, 2 * np.pi, 200_001)

    def prof(r):
        u1, u2 = r * np.cos(t), r * np.sin(t)
        return np.max(0.5 * (0.5 * u1 + 2 * u2 + u1 * u2) ** 2)

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if prof(mid) >= 1e-3 else (mid, hi)
    assert abs(ld - hi) <= 5e-5


# --------------------------------------------------------------------------- your own model
@pytest.fixture(scope="module")
def own_model():
    """The section's code run as a doctest: (its globals, the printed rows)."""
    test, runner = _run(_own_model(), "README: use flatlib on your own model")
    assert runner.failures == 0, "the README's own-model example prints other numbers than shown"
    rows = [[float(v) for v in line.split()] for line in test.examples[-1].want.splitlines()]
    return test.globs, rows


def _factors(w):
    return w[:8].reshape(4, 2), w[8:].reshape(3, 2)


def _hessian_at_minimum(w):
    """∇² of ½‖UVᵀ - M‖² where UVᵀ = M: JᵀJ, J the Jacobian of w -> vec(UVᵀ), written out
    (d(UVᵀ) = dU Vᵀ + U dVᵀ), not differentiated numerically."""
    U, V = _factors(w)
    J = np.zeros((12, 14))
    for k in range(14):
        e = np.zeros(14)
        e[k] = 1.0
        dU, dV = _factors(e)
        J[:, k] = (dU @ V.T + U @ dV.T).ravel()
    return J.T @ J


def test_own_model_runs_and_prints_what_it_shows(own_model):
    # catches: the example's shown output drifting from what it computes
    globs, rows = own_model
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)


def test_own_model_points_are_minima_on_one_orbit_and_the_second_is_balanced(own_model):
    # catches: a balancing step that leaves the orbit (changes UVᵀ) or does not balance
    g, _ = own_model
    M = g["M"]
    for w in (g["w"], g["w_bal"]):
        U, V = _factors(w)
        assert np.linalg.norm(U @ V.T - M) <= 1e-9
    U, V = _factors(g["w_bal"])
    assert np.linalg.norm(U.T @ U - V.T @ V) <= 1e-6          # the charges UᵀU - VᵀV vanish
    U0, V0 = _factors(g["w"])
    assert np.linalg.norm(U0.T @ U0 - V0.T @ V0) >= 0.1       # the trained point was not balanced


def test_own_model_lambda_max_against_the_exact_hessian_and_2_sigma_1(own_model):
    # catches: a wrong λ_max (printed to 4 decimals) at either point
    g, rows = own_model
    sigma1 = np.linalg.svd(g["M"], compute_uv=False)[0]
    for w, row in zip((g["w"], g["w_bal"]), rows):
        exact = np.linalg.eigvalsh(_hessian_at_minimum(w))[-1]
        assert abs(row[2] - exact) <= 5e-5 + 1e-6
    assert abs(rows[1][2] - 2 * sigma1) <= 5e-5 + 1e-6         # closed form at a balanced minimum
    assert rows[0][2] > 2 * sigma1 + 0.1                        # the unbalanced point is sharper


def test_own_model_f_circ_inside_an_independent_bracket(own_model):
    # At a global minimum (UVᵀ = M), with ‖(dU, dV)‖ <= ρ:
    #   f(w + e) = ½‖dU Vᵀ + U dVᵀ + dU dVᵀ‖² <= ½(ρ √(‖U‖₂² + ‖V‖₂²) + ρ²/2)²   (upper bound),
    # and f° >= f(w ± ρ u) for the top Hessian eigenvector u and for random points of the
    # sphere (lower bounds). catches: a printed f° outside [lower, upper] (rounding 5e-5)
    g, rows = own_model
    loss, rho = g["loss"], 0.1
    rng = np.random.default_rng(1)
    for w, row in zip((g["w"], g["w_bal"]), rows):
        assert row[0] == 0.0
        U, V = _factors(w)
        s = np.sqrt(np.linalg.norm(U, 2) ** 2 + np.linalg.norm(V, 2) ** 2)
        upper = 0.5 * (rho * s + rho ** 2 / 2) ** 2
        u = np.linalg.eigh(_hessian_at_minimum(w))[1][:, -1]
        E = rng.standard_normal((20_000, 14))
        E *= rho / np.linalg.norm(E, axis=1, keepdims=True)
        lower = max(loss(w + rho * u), loss(w - rho * u), max(loss(w + e) for e in E))
        assert lower - 5e-5 <= row[1] <= upper + 5e-5, (lower, row[1], upper)
    assert rows[1][1] < rows[0][1]                              # balanced is flatter
