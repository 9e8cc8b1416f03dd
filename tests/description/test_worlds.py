"""Gazebo worlds: generated from the embedded simulator's worlds and kept in sync with them."""
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from nanorover_description import world_sdf

REPO = Path(__file__).resolve().parents[2]
WORLDS_DIR = REPO / 'src' / 'nanorover_description' / 'worlds'


def test_merge_rectangles_covers_exactly_the_cells():
    rng = np.random.default_rng(3)
    mask = rng.random((40, 30)) < 0.3
    mask[5:15, 4:20] = True
    cover = np.zeros(mask.shape, int)
    rects = world_sdf.merge_rectangles(mask)
    for r0, c0, rows, cols in rects:
        cover[r0:r0 + rows, c0:c0 + cols] += 1
    assert (cover == mask).all()               # every cell once, nothing else
    assert len(rects) < mask.sum()             # merged, not one box per cell
    assert world_sdf.merge_rectangles(np.ones((7, 9), bool)) == [(0, 0, 7, 9)]


def test_committed_worlds_match_the_simulator_maps():
    assert world_sdf.main(['--check', '--out', str(WORLDS_DIR)]) == 0


def test_check_detects_a_stale_world(tmp_path):
    for f in WORLDS_DIR.iterdir():
        (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / 'room.sdf').write_text((tmp_path / 'room.sdf').read_text().replace(
        '<box>', '<box> ', 1))
    assert world_sdf.main(['--check', '--out', str(tmp_path)]) == 1


@pytest.mark.parametrize('name', world_sdf.WORLDS)
def test_world_walls_are_the_map_obstacles(name):
    """Every non-free map cell centre lies in a wall box and every free one in none."""
    from nanorover_sim.world import load_world
    world = load_world(name)
    root = ET.parse(str(WORLDS_DIR / (name + '.sdf'))).getroot()
    assert root.tag == 'sdf' and root.find('world').get('name') == name
    boxes = []
    for link in root.find("world/model[@name='walls']").iter('link'):
        x, y = [float(v) for v in link.findtext('pose').split()[:2]]
        sx, sy = [float(v) for v in link.findtext('collision/geometry/box/size').split()[:2]]
        boxes.append((x - sx / 2, x + sx / 2, y - sy / 2, y + sy / 2))
    boxes = np.array(boxes)
    res, (ox, oy) = world.info.resolution, world.info.origin[:2]
    rows, cols = np.indices(world.grid.shape)
    cx, cy = ox + (cols + 0.5) * res, oy + (rows + 0.5) * res
    rng = np.random.default_rng(0)
    pick = rng.choice(world.grid.size, 2000, replace=False)
    for k in pick:
        px, py = cx.flat[k], cy.flat[k]
        inside = ((boxes[:, 0] < px) & (px < boxes[:, 1]) & (boxes[:, 2] < py)
                  & (py < boxes[:, 3])).any()
        assert inside == (world.grid.flat[k] != 0), (px, py, world.grid.flat[k])
    objects = root.find("world/model[@name='objects']").findall('link')
    assert len(objects) == len(world.objects)
    starts = yaml.safe_load((WORLDS_DIR / 'start_poses.yaml').read_text())
    assert starts[name] == pytest.approx(list(world.start_pose))
    assert world.is_free(*world.start_pose[:2])
    plugins = {p.get('filename') for p in root.iter('plugin')}
    assert {'gz-sim-physics-system', 'gz-sim-sensors-system',
            'gz-sim-scene-broadcaster-system', 'gz-sim-user-commands-system'} <= plugins
