"""SE(2) helpers: group laws, wrapping, quaternions."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nanorover_navigation.geometry import (quaternion_from_yaw, se2_between, se2_compose,
                                           se2_inverse, transform_points, wrap_angle,
                                           yaw_from_quaternion)

coord = st.floats(-50, 50)
angle = st.floats(-10, 10)
pose = st.tuples(coord, coord, angle)


def test_wrap_angle_range_and_values():
    assert wrap_angle(math.pi + 0.1) == pytest_approx(-math.pi + 0.1)
    assert wrap_angle(-3 * math.pi / 2) == pytest_approx(math.pi / 2)
    a = wrap_angle(np.linspace(-20, 20, 101))
    assert np.all(a >= -math.pi) and np.all(a < math.pi)


def pytest_approx(v):
    import pytest
    return pytest.approx(v, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(pose, pose)
def test_compose_between_inverse_are_consistent(a, b):
    ab = se2_compose(a, b)
    back = se2_between(a, ab)
    assert np.allclose(back[:2], b[:2], atol=1e-7)
    assert abs(wrap_angle(back[2] - b[2])) < 1e-9
    ident = se2_compose(a, se2_inverse(a))
    assert np.allclose(ident[:2], 0, atol=1e-7) and abs(ident[2]) < 1e-9


def test_compose_known_value_and_vectorised():
    a = (1.0, 2.0, math.pi / 2)
    b = (1.0, 0.0, 0.0)
    assert np.allclose(se2_compose(a, b), [1.0, 3.0, math.pi / 2])
    many = se2_compose(np.array([a, a]), np.array([b, (0.0, 1.0, 0.0)]))
    assert np.allclose(many, [[1.0, 3.0, math.pi / 2], [0.0, 2.0, math.pi / 2]])
    pts = transform_points(a, [[1.0, 0.0], [0.0, 1.0]])
    assert np.allclose(pts, [[1.0, 3.0], [0.0, 2.0]])


@settings(max_examples=30, deadline=None)
@given(angle)
def test_quaternion_roundtrip(yaw):
    q = quaternion_from_yaw(yaw)
    assert abs(sum(v * v for v in q) - 1.0) < 1e-12
    assert abs(wrap_angle(yaw_from_quaternion(q) - yaw)) < 1e-9
