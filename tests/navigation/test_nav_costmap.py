"""Costmap: inflation from the static map, unknown cells, scan marking/clearing, bad input."""
import math

import numpy as np
import pytest

from nanorover_navigation.costmap import (INSCRIBED, LETHAL, MAX_INFLATED, NO_INFORMATION,
                                          Costmap, CostmapError, scan_endpoints)

RES = 0.05


def empty(rows=40, cols=60):
    return np.zeros((rows, cols), dtype=np.int8)


def make(grid, **kw):
    kw.setdefault('inflation_radius', 0.5)
    return Costmap(grid, RES, (0.0, 0.0, 0.0), 0.14, **kw)


def test_inflation_profile_around_one_obstacle():
    grid = empty()
    grid[20, 30] = 100
    cm = make(grid, cost_scaling=3.0)
    x0, y0 = cm.cell_to_world(20, 30)
    assert cm.cost_at(x0, y0) == LETHAL
    r_in = cm.inscribed_radius
    assert math.isclose(r_in, 0.14 + 0.06)
    # along +x: inscribed up to r_in, then decaying, zero beyond the inflation radius
    costs = [cm.cost_at(x0 + k * RES, y0) for k in range(1, 14)]
    for k, c in enumerate(costs, start=1):
        d = k * RES
        if d <= r_in + 1e-9:
            assert c == INSCRIBED, (d, c)
        elif d <= 0.5 + 1e-9:
            expected = round(MAX_INFLATED * math.exp(-3.0 * (d - r_in)))
            assert abs(c - expected) <= 1, (d, c, expected)
        else:
            assert c == 0, (d, c)
    inflated = [c for c in costs if 0 < c < INSCRIBED]
    assert inflated == sorted(inflated, reverse=True) and len(inflated) >= 4


def test_unknown_cells_and_outside_the_map():
    grid = empty()
    grid[:, 40:] = -1
    cm = make(grid)
    assert cm.cost_at(*cm.cell_to_world(10, 50)) == NO_INFORMATION
    assert cm.cost_at(-1.0, 0.5) == NO_INFORMATION
    assert not cm.is_free(*cm.cell_to_world(10, 50))
    assert cm.is_free(*cm.cell_to_world(10, 50), allow_unknown=True)
    # unknown is not an obstacle: free cells next to it are not inflated
    assert cm.cost_at(*cm.cell_to_world(10, 39)) == 0


def test_scan_marks_endpoints_and_later_scans_clear_them():
    cm = make(empty(), raytrace_range=3.0, obstacle_range=2.5)
    sensor = (0.5, 1.0)
    obstacle = (1.5, 1.0)
    cm.update_scan(sensor, [obstacle], [True])
    cm.update()
    assert cm.cost_at(*obstacle) == LETHAL
    assert cm.cost_at(1.5 - 0.1, 1.0) == INSCRIBED
    # the obstacle moved away: a longer beam along the same line clears the old mark
    cm.update_scan(sensor, [(2.5, 1.0)], [True])
    cm.update()
    assert cm.cost_at(*obstacle) == 0
    assert cm.cost_at(2.5, 1.0) == LETHAL
    # a beam with no return clears too (and marks nothing)
    cm.update_scan(sensor, [(2.9, 1.0)], [False])
    cm.update()
    assert cm.cost_at(2.5, 1.0) == 0


def test_scan_clearing_keeps_static_walls():
    grid = empty()
    grid[:, 40] = 100      # wall at x = 2.0..2.05
    cm = make(grid)
    cm.update_scan((0.5, 1.0), [(2.8, 1.0)], [False])   # a (bogus) beam through the wall
    cm.update()
    assert cm.cost_at(2.02, 1.0) == LETHAL


def test_far_returns_beyond_obstacle_range_do_not_mark():
    cm = make(empty(40, 100), obstacle_range=1.0)
    cm.update_scan((0.2, 1.0), [(1.8, 1.0)], [True])
    cm.update()
    assert cm.cost_at(1.8, 1.0) == 0


def test_scan_endpoints_from_a_laserscan():
    ranges = [1.0, float('inf'), 0.01, float('nan'), 2.0]
    pts, hit = scan_endpoints((1.0, 1.0, math.pi / 2), ranges, -math.pi / 2, math.pi / 4,
                              0.1, 5.0)
    # 0.01 < range_min is dropped; inf/nan clear up to range_max
    assert hit.tolist() == [True, False, False, True]
    np.testing.assert_allclose(pts[0], (2.0, 1.0), atol=1e-9)       # beam along +x (world)
    np.testing.assert_allclose(pts[1], (1.0 + 5 * math.cos(math.pi / 4),
                                        1.0 + 5 * math.sin(math.pi / 4)), atol=1e-9)
    np.testing.assert_allclose(pts[3], (-1.0, 1.0), atol=1e-9)      # beam along -x (world)


@pytest.mark.parametrize('bad', [
    dict(grid=np.zeros((0, 5))), dict(resolution=0.0), dict(robot_radius=0.3, inflation=0.2),
    dict(origin=(0.0, 0.0, 0.5)),
])
def test_bad_input_is_rejected_with_a_reason(bad):
    with pytest.raises(CostmapError) as exc:
        Costmap(bad.get('grid', empty()), bad.get('resolution', RES),
                bad.get('origin', (0.0, 0.0, 0.0)), bad.get('robot_radius', 0.14),
                bad.get('inflation', 0.5))
    assert str(exc.value)


def test_mismatched_scan_arrays_are_rejected():
    cm = make(empty())
    with pytest.raises(CostmapError):
        cm.update_scan((0, 0), [(1, 1), (2, 2)], [True])
