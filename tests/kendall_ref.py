"""Kendall's tau-b by counting pairs (pure Python): the independent reference the network-study
tests compare ``flatlib.networks.kendall_tau_ci`` and notebook 07 against."""
import itertools
import math


def tau_b(x, y):
    """(P - Q) / sqrt((P + Q + Tx)(P + Q + Ty)) over all pairs; ``None`` when undefined."""
    P = Q = Tx = Ty = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            Tx += 1
        elif dy == 0:
            Ty += 1
        elif dx * dy > 0:
            P += 1
        else:
            Q += 1
    den = (P + Q + Tx) * (P + Q + Ty)
    return None if den == 0 else (P - Q) / math.sqrt(den)
