"""The README's tour runs as a doctest (its printed outputs are checked), and the numbers it
prints agree with independent computations."""
import doctest
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour():
    return re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)


def test_tour_outputs_are_what_it_prints():
    # catches: a README whose shown outputs drift from what the library returns
    parser = doctest.DocTestParser()
    test = parser.get_doctest(_tour(), {}, "README tour", str(README), 0)
    assert len(test.examples) >= 8
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
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
