"""Log-odds occupancy grid: hits, free space, growth."""
import numpy as np

from nanorover_common.map_io import FREE, OCCUPIED, UNKNOWN
from nanorover_navigation.occupancy import OccupancyGrid


def test_ray_marks_free_then_occupied_and_grid_grows():
    g = OccupancyGrid(0.05)
    for _ in range(3):
        g.integrate((0.0, 0.0), [[2.0, 0.0], [0.0, 1.0]])
    grid = g.to_grid()
    assert grid[g.world_to_cell((2.01, 0.01))] == OCCUPIED
    assert grid[g.world_to_cell((1.0, 0.01))] == FREE
    assert grid[g.world_to_cell((0.01, 0.5))] == FREE
    assert grid[g.world_to_cell((-1.0, -1.0))] == UNKNOWN
    old_origin = g.origin.copy()
    g.integrate((0.0, 0.0), [[-6.0, 0.0]])            # outside: the grid grows, content stays
    assert g.origin[0] < old_origin[0]
    grid = g.to_grid()
    assert grid[g.world_to_cell((2.01, 0.01))] == OCCUPIED
    assert grid[g.world_to_cell((-6.0 + 0.01, 0.01))] != UNKNOWN
    # no-return rays only clear space
    g.integrate((0.0, 0.0), np.zeros((0, 2)), free_endpoints=[[0.0, -2.0]])
    assert g.to_grid()[g.world_to_cell((0.01, -1.5))] != OCCUPIED
