"""Frontier detection and selection on known partial maps."""
import math

import numpy as np

from nanorover_navigation.costmap import Costmap
from nanorover_navigation.frontier import FrontierExplorer, find_frontiers, frontier_mask

RES = 0.05


def costmap(grid):
    return Costmap(grid, RES, (0.0, 0.0), 0.14, 0.45, 3.0)


def partial_map():
    """4 x 3 m: left part known (free, walls around), right part unknown beyond x = 2.0 m."""
    grid = np.full((60, 80), -1, dtype=np.int8)
    grid[:, :40] = 0
    grid[0, :40] = grid[-1, :40] = 100
    grid[:, 0] = 100
    return grid


def test_frontier_cells_are_free_cells_next_to_unknown():
    grid = partial_map()
    mask = frontier_mask(grid)
    rows, cols = np.nonzero(mask)
    assert set(cols.tolist()) == {39}                       # the last known free column
    assert rows.min() == 1 and rows.max() == 58             # walls are not frontiers
    assert not mask[:, :39].any()


def test_one_cluster_with_a_reachable_target():
    grid = partial_map()
    cm = costmap(grid)
    frontiers = find_frontiers(grid, cm, (1.0, 1.5), min_size=3)
    assert len(frontiers) == 1
    f = frontiers[0]
    assert f.size == 58
    assert abs(f.centroid[0] - 1.975) < 1e-9 and abs(f.centroid[1] - 1.5) < 0.05
    assert cm.traversable()[f.target_cell]
    assert math.isfinite(f.distance) and 0.7 < f.distance < 1.2
    assert math.hypot(f.target[0] - f.centroid[0], f.target[1] - f.centroid[1]) < 0.4


def test_enclosed_frontier_is_unreachable_and_small_ones_are_ignored():
    grid = partial_map()
    grid[20:40, 10:30] = 100            # a closed box...
    grid[25:35, 15:25] = 0              # ...with known free space inside...
    grid[29:31, 19:21] = -1             # ...around an unknown hole (a 2x2 cell frontier ring)
    cm = costmap(grid)
    frontiers = find_frontiers(grid, cm, (1.0, 0.5), min_size=3)
    inner = [f for f in frontiers
             if abs(f.centroid[0] - 1.0) < 0.1 and abs(f.centroid[1] - 1.5) < 0.1]
    assert len(inner) == 1 and inner[0].distance == float('inf')
    assert find_frontiers(grid, cm, (1.0, 0.5), min_size=20)[0].size == 58
    ex = FrontierExplorer(min_size=3)
    best, _ = ex.select(grid, cm, (1.0, 0.5))
    assert best.size == 58                      # the unreachable one is never chosen


def test_explorer_prefers_near_and_large_and_skips_blacklisted():
    grid = np.full((60, 100), -1, dtype=np.int8)
    grid[20:40, 20:80] = 0              # a known free strip with unknown all around
    cm = costmap(grid)
    ex = FrontierExplorer(min_size=3, size_weight=0.0)
    best, frontiers = ex.select(grid, cm, (1.2, 1.5))
    assert len(frontiers) == 1          # the ring around the strip is one cluster
    ex.mark_unreachable(best.target)
    again, _ = ex.select(grid, cm, (1.2, 1.5))
    assert again is None                # its only target is blacklisted now
    assert find_frontiers(np.zeros((10, 10), np.int8), costmap(np.zeros((10, 10), np.int8)),
                          (0.2, 0.2)) == []
