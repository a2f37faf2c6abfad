"""The README's tour runs, and says what it computes."""
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_tour_runs_and_its_comments_hold():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    lines = [l.split("#")[0].rstrip() for l in block.splitlines()]
    ns = {}
    results = []
    for line in lines:
        if line.startswith("fl."):
            results.append(eval(line, ns))
        elif line:
            exec(line, ns)
    mv, ld, order, sign = results
    # f°((1,1), 0.1) = ½(√2 r + r²/2)² (closed form, tests/test_profiles.py)
    assert np.isclose(mv, 0.5 * (np.sqrt(2) * 0.1 + 0.005) ** 2, rtol=1e-9)
    assert ld > 0 and order == Fraction(2) and sign == -1
