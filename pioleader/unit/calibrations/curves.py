"""Calibration curves: evaluate, invert and fit them, in plain Python.

Curve data follow upstream's YAML: ``poly`` has ``coefficients`` with the highest power first;
``spline`` and ``akima`` have ``knots`` (strictly increasing) and, per interval between two
knots, four coefficients ``[a, b, c, d]`` of ``a + b·u + c·u² + d·u³`` with ``u = x - knot``.
Outside the knots the first or last piece is extended.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass


class CurveError(ValueError):
    """A curve cannot be evaluated, inverted or fitted as asked; the message says why."""


@dataclass(frozen=True)
class Curve:
    """A curve ``y = f(x)`` of one of the three kinds."""

    kind: str
    coefficients: tuple[tuple[float, ...], ...]
    knots: tuple[float, ...] = ()

    @classmethod
    def from_data(cls, data: dict[str, object]) -> Curve:
        """From a calibration's ``curve_data_`` (already validated by the models)."""
        kind = str(data["type"])
        raw = data["coefficients"]
        assert isinstance(raw, list)
        if kind == "poly":
            return cls(kind, (tuple(float(c) for c in raw),))
        knots = data["knots"]
        assert isinstance(knots, list)
        return cls(
            kind,
            tuple(tuple(float(c) for c in piece) for piece in raw),
            tuple(float(k) for k in knots),
        )

    def __call__(self, x: float) -> float:
        if self.kind == "poly":
            value = 0.0
            for coefficient in self.coefficients[0]:
                value = value * x + coefficient
            return value
        index = min(max(bisect.bisect_right(self.knots, x) - 1, 0), len(self.knots) - 2)
        a, b, c, d = self.coefficients[index]
        u = x - self.knots[index]
        return a + u * (b + u * (c + u * d))

    def solve(self, y: float, lower: float, upper: float) -> float:
        """The smallest ``x`` in ``[lower, upper]`` with ``f(x) = y``.

        Raises ``CurveError`` when the curve does not reach ``y`` there.
        """
        if self.kind == "poly" and len(self.coefficients[0]) == 2:
            slope, intercept = self.coefficients[0]
            if slope == 0:
                raise CurveError("the curve is flat, so it cannot be inverted")
            x = (y - intercept) / slope
            if not lower <= x <= upper:
                raise CurveError(f"{y:g} is reached at x={x:g}, outside [{lower:g}, {upper:g}]")
            return x
        steps = 512
        previous_x, previous_gap = lower, self(lower) - y
        for step in range(1, steps + 1):
            x = lower + (upper - lower) * step / steps
            gap = self(x) - y
            if previous_gap == 0:
                return previous_x
            if (previous_gap < 0) != (gap < 0) or gap == 0:
                return self._bisect(y, previous_x, x)
            previous_x, previous_gap = x, gap
        raise CurveError(f"the curve does not reach {y:g} for x in [{lower:g}, {upper:g}]")

    def _bisect(self, y: float, low: float, high: float) -> float:
        low_below = self(low) < y
        for _ in range(80):
            middle = (low + high) / 2
            if (self(middle) < y) == low_below:
                low = middle
            else:
                high = middle
        return (low + high) / 2


def fit_poly(xs: Sequence[float], ys: Sequence[float], degree: int) -> list[float]:
    """Least-squares polynomial through the points; coefficients highest power first."""
    if len(xs) != len(ys):
        raise CurveError("x and y must have the same number of points")
    if len(set(xs)) <= degree:
        raise CurveError(f"a degree-{degree} fit needs at least {degree + 1} distinct x values")
    size = degree + 1
    # Normal equations (Vᵀ·V)·c = Vᵀ·y with V[i][j] = x_i^j, solved by Gauss-Jordan with pivoting.
    matrix = [[sum(x ** (i + j) for x in xs) for j in range(size)] for i in range(size)]
    vector = [sum(y * x**i for x, y in zip(xs, ys, strict=True)) for i in range(size)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda row: abs(matrix[row][column]))
        if abs(matrix[pivot][column]) < 1e-300:
            raise CurveError("the points do not determine a curve")
        matrix[column], matrix[pivot] = matrix[pivot], matrix[column]
        vector[column], vector[pivot] = vector[pivot], vector[column]
        for row in range(size):
            if row != column:
                factor = matrix[row][column] / matrix[column][column]
                for k in range(column, size):
                    matrix[row][k] -= factor * matrix[column][k]
                vector[row] -= factor * vector[column]
    ascending = [vector[i] / matrix[i][i] for i in range(size)]
    return list(reversed(ascending))
