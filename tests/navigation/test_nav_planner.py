"""A* planner: optimal on known grids, keeps off inflated obstacles, clear failures."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nanorover_navigation.costmap import INSCRIBED, Costmap
from nanorover_navigation.planner import AStarPlanner, grid_distances, path_length

RES = 0.05


def costmap(grid, inflation=0.45):
    return Costmap(np.asarray(grid, dtype=np.int8), RES, (0.0, 0.0, 0.0), 0.14, inflation, 3.0)


def plain():
    """No cost weighting, no smoothing: the path must be a shortest 8-connected grid path."""
    return AStarPlanner(cost_weight=0.0, smooth=False)


def test_straight_and_diagonal_paths_have_optimal_length():
    cm = costmap(np.zeros((40, 60)))
    a = cm.cell_to_world(20, 5)
    b = cm.cell_to_world(20, 45)
    res = plain().plan(cm, a, b)
    assert res.ok and math.isclose(res.length, 40 * RES, rel_tol=1e-9)
    c = cm.cell_to_world(35, 20)
    res = plain().plan(cm, cm.cell_to_world(5, 5), c)
    # octile distance over 30 rows, 15 cols: 15 diagonal + 15 straight steps
    expected = (15 * math.sqrt(2) + 15) * RES
    assert res.ok and math.isclose(res.length, expected, rel_tol=1e-9)


def test_path_around_a_wall_matches_dijkstra_and_respects_inflation():
    grid = np.zeros((60, 80), dtype=np.int8)
    grid[10:60, 40] = 100          # wall from the top down, gap at the bottom rows 0..9
    cm = costmap(grid)
    start, goal = cm.cell_to_world(40, 10), cm.cell_to_world(40, 70)
    res = plain().plan(cm, start, goal)
    assert res.ok
    dist = grid_distances(cm.traversable(), (40, 10), RES)
    assert math.isclose(res.length, dist[40, 70], rel_tol=1e-9)
    costs = cm.costs[res.cells[:, 0], res.cells[:, 1]]
    assert np.all(costs < INSCRIBED)
    # the path passes below the wall's end, at least the inscribed radius from it
    assert cm.distance[res.cells[:, 0], res.cells[:, 1]].min() > cm.inscribed_radius


def test_cost_aware_path_keeps_away_from_walls_when_there_is_room():
    grid = np.zeros((40, 100), dtype=np.int8)
    grid[0, :] = grid[-1, :] = 100
    cm = costmap(grid, inflation=0.9)
    start, goal = cm.cell_to_world(8, 5), cm.cell_to_world(8, 95)    # near the bottom wall
    near = plain().plan(cm, start, goal)
    aware = AStarPlanner(cost_weight=3.0).plan(cm, start, goal)
    assert near.ok and aware.ok
    mid = aware.cells[len(aware.cells) // 2]
    assert abs(mid[0] - 19.5) <= 3      # the cost-aware path runs along the corridor centre
    assert cm.costs[tuple(aware.cells[len(aware.cells) // 2])] < \
        cm.costs[tuple(near.cells[len(near.cells) // 2])]
    assert aware.length < 1.15 * near.length


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_astar_equals_dijkstra_on_random_grids(seed):
    rng = np.random.default_rng(seed)
    grid = np.where(rng.random((30, 30)) < 0.08, 100, 0).astype(np.int8)
    cm = Costmap(grid, RES, (0.0, 0.0), 0.05, 0.06, 3.0, padding=0.0)
    trav = cm.traversable()
    free = np.argwhere(trav)
    if free.shape[0] < 2:
        return
    a, b = free[rng.integers(free.shape[0], size=2)]
    dist = grid_distances(trav, tuple(a), RES)
    res = plain().plan(cm, cm.cell_to_world(*a), cm.cell_to_world(*b))
    if np.isfinite(dist[tuple(b)]):
        assert res.ok, res.reason
        assert math.isclose(res.length, dist[tuple(b)], rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert not res.ok and 'unreachable' in res.reason


def test_smoothing_shortens_and_stays_traversable():
    cm = costmap(np.zeros((60, 60)))
    start, goal = cm.cell_to_world(5, 5), cm.cell_to_world(50, 20)
    rough = plain().plan(cm, start, goal)
    smooth = AStarPlanner(cost_weight=0.0, smooth=True).plan(cm, start, goal)
    straight = math.hypot(goal[0] - start[0], goal[1] - start[1])
    assert smooth.length < rough.length
    assert smooth.length == pytest.approx(straight, rel=0.02)
    assert np.all(cm.costs[smooth.cells[:, 0], smooth.cells[:, 1]] < INSCRIBED)


def test_goal_in_an_obstacle_is_moved_to_the_nearest_free_cell():
    grid = np.zeros((40, 60), dtype=np.int8)
    grid[15:25, 40:45] = 100
    cm = costmap(grid)
    goal = cm.cell_to_world(20, 42)            # inside the block
    res = AStarPlanner(goal_tolerance=0.5).plan(cm, cm.cell_to_world(20, 5), goal)
    assert res.ok and 'moved' in res.reason
    assert cm.costs[tuple(res.cells[-1])] < INSCRIBED
    assert math.hypot(res.goal[0] - goal[0], res.goal[1] - goal[1]) <= 0.5


def test_goal_too_deep_in_an_obstacle_fails_with_the_reason():
    grid = np.zeros((60, 60), dtype=np.int8)
    grid[10:50, 30:58] = 100
    cm = costmap(grid)
    res = AStarPlanner(goal_tolerance=0.3).plan(cm, cm.cell_to_world(30, 5),
                                                cm.cell_to_world(30, 45))
    assert not res.ok and 'occupied' in res.reason and '0.30' in res.reason


def test_unknown_goal_and_unreachable_goal_and_outside():
    grid = np.zeros((40, 60), dtype=np.int8)
    grid[:, 30] = 100                       # a full wall: the right half is unreachable
    grid[30:, 50:] = -1
    cm = costmap(grid)
    p = AStarPlanner(goal_tolerance=0.2)
    res = p.plan(cm, cm.cell_to_world(20, 5), cm.cell_to_world(20, 50))
    assert not res.ok and 'unreachable' in res.reason
    res = p.plan(cm, cm.cell_to_world(20, 5), cm.cell_to_world(38, 58))
    assert not res.ok and 'unknown' in res.reason
    res = p.plan(cm, cm.cell_to_world(20, 5), (10.0, 10.0))
    assert not res.ok and 'outside the map' in res.reason


def test_path_length_helper():
    assert path_length([(0, 0), (3, 4), (3, 5)]) == pytest.approx(6.0)
    assert path_length([(1, 1)]) == 0.0
