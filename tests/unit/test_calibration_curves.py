"""Calibration curves: evaluation, inversion and fitting, and their use by jobs."""

from __future__ import annotations

import pytest

from pioleader.unit.calibrations.curves import Curve, CurveError, fit_poly
from pioleader.unit.calibrations.models import PumpCalibration
from pioleader.unit.calibrations.usage import seconds_for_ml


def test_poly_evaluates_highest_power_first() -> None:
    """It should read coefficients as upstream writes them: highest power first."""
    curve = Curve.from_data({"type": "poly", "coefficients": [2.0, -3.0, 1.0]})
    assert curve(0.0) == 1.0 and curve(2.0) == 3.0


@pytest.mark.parametrize("kind", ["spline", "akima"])
def test_piecewise_curves_use_the_piece_of_x_and_extend_the_ends(kind: str) -> None:
    """It should evaluate a + b·u + c·u² + d·u³ with u measured from the piece's knot."""
    curve = Curve.from_data(
        {
            "type": kind,
            "knots": [0.0, 1.0, 3.0],
            "coefficients": [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.5, 0.0]],
        }
    )
    assert curve(0.5) == 0.5
    assert curve(2.0) == 1.5  # 1 + 0.5·1²
    assert curve(-1.0) == -1.0  # the first piece, extended
    assert curve(4.0) == 1.0 + 0.5 * 9  # the last piece, extended


def test_solve_inverts_linear_and_curved_curves() -> None:
    """It should find x for y within the range, and refuse y the curve never reaches there."""
    line = Curve.from_data({"type": "poly", "coefficients": [0.5, 0.1]})
    assert line.solve(1.1, 0, 100) == pytest.approx(2.0)
    square = Curve.from_data({"type": "poly", "coefficients": [1.0, 0.0, 0.0]})
    assert square.solve(2.0, 0, 10) == pytest.approx(2**0.5, rel=1e-9)
    with pytest.raises(CurveError):
        square.solve(-1.0, 0, 10)
    with pytest.raises(CurveError):
        line.solve(1000.0, 0, 10)


def test_fit_poly_recovers_exact_points_and_refuses_too_few() -> None:
    """It should fit least squares (exact on exact data) and need degree + 1 distinct x."""
    xs = [0.0, 1.0, 2.0, 3.0]
    assert fit_poly(xs, [3 * x**2 - x + 2 for x in xs], 2) == pytest.approx([3.0, -1.0, 2.0])
    slope, intercept = fit_poly([1.0, 2.0, 3.0], [0.9, 2.1, 2.9], 1)
    assert slope == pytest.approx(1.0) and intercept == pytest.approx(0.0, abs=0.1)
    with pytest.raises(CurveError):
        fit_poly([1.0, 1.0], [1.0, 2.0], 1)


def test_pump_calibration_turns_ml_into_seconds() -> None:
    """It should give the run time for a volume by the inverse of the duration→volume curve."""
    calibration = PumpCalibration.model_validate(
        {
            "calibration_type": "simple_peristaltic_pump",
            "calibration_name": "p",
            "calibrated_on_pioreactor_unit": "pio01",
            "created_at": "2026-01-01T00:00:00Z",
            "curve_data_": {"type": "poly", "coefficients": [0.5, 0.1]},
            "x": "Duration",
            "y": "Volume",
            "recorded_data": {"x": [1.0, 2.0], "y": [0.6, 1.1]},
            "hz": 250,
            "dc": 100,
            "voltage": -1,
        }
    )
    assert seconds_for_ml(calibration, 1.1) == pytest.approx(2.0)
    assert seconds_for_ml(calibration, 0.0) == 0.0
    with pytest.raises(CurveError):
        seconds_for_ml(calibration, 0.05)  # below the intercept: no run time gives it
