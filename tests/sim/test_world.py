"""Worlds: shipped worlds, user worlds from $NANOROVER_WORLDS, malformed files."""
import numpy as np
import pytest
from scipy import ndimage

from helpers import save_box_room
from nanorover_sim.world import (CLASSES, WorldError, list_worlds, load_world)


@pytest.mark.parametrize('name', ['room', 'office', 'hall'])
def test_shipped_world_is_consistent(name):
    w = load_world(name)
    assert w.name == name
    assert w.info.resolution == pytest.approx(0.05)
    assert w.grid.dtype == np.int8 and set(np.unique(w.grid)) <= {-1, 0, 100}
    assert len(w.objects) >= 4
    assert {o.cls for o in w.objects} <= set(CLASSES)
    # objects stand in free space (not inside walls), the start pose is free for the robot
    assert not (w.object_mask() & w.walls).any()
    assert w.is_free(w.start_pose[0], w.start_pose[1], 0.14)
    colors = [o.color for o in w.objects]
    assert len(set(colors)) == len(colors), 'object colours must be distinct'


def test_all_classes_appear_and_room_size():
    classes = set()
    for name in ('room', 'office', 'hall'):
        classes |= {o.cls for o in load_world(name).objects}
    assert classes == set(CLASSES)
    sx, sy = load_world('room').size_m
    assert 5.0 <= sx <= 6.5 and 4.0 <= sy <= 5.5


def test_office_has_a_loop_around_a_central_block():
    w = load_world('office')
    sx, sy = w.size_m
    assert sx >= 13 and sy >= 9
    labels, _ = ndimage.label(w.walls)
    r, c = w.world_to_cell(7.0, 5.0)  # centre of the office
    block = labels[r, c]
    assert block > 0, 'the office centre must be a solid block'
    rows, cols = np.nonzero(labels == block)
    # the block is an island (touches no other wall): free space must go all the way round it
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < w.grid.shape[0] - 1
    outer = labels[0, 0] if labels[0, 0] else labels[w.world_to_cell(0.0, -0.05)]
    assert block != outer
    free_labels, _ = ndimage.label(~w.walls)
    ring = ndimage.binary_dilation(labels == block, iterations=2) & ~(labels == block)
    assert len(set(free_labels[ring].tolist()) - {0}) == 1, 'corridor around the block is one region'


def test_is_free_respects_radius_and_objects():
    w = load_world('room')
    assert w.is_free(1.0, 1.5, 0.14)
    assert not w.is_free(0.05, 1.5, 0.14)        # 5 cm from the wall
    assert w.is_free(0.3, 1.5, 0.14)
    o = w.objects[0]
    assert not w.is_free(o.x, o.y, 0.0)           # inside an object's footprint
    assert not w.is_free(-3.0, 1.0, 0.0)          # outside the map
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y, yaw = w.random_free_pose(rng, radius=0.3)
        assert w.is_free(x, y, 0.3) and 0.0 < x < 5.0 and 0.0 < y < 4.0


def test_user_world_from_env(tmp_path, monkeypatch):
    d1, d2 = tmp_path / 'a', tmp_path / 'b'
    save_box_room(d2 / 'my_lab', width=3.0, height=2.0, start=(1.0, 1.0, 0.5))
    monkeypatch.setenv('NANOROVER_WORLDS', '%s:%s' % (d1, d2))
    names = list_worlds()
    assert 'my_lab' in names and {'room', 'office', 'hall'} <= set(names)
    w = load_world('my_lab')
    assert w.start_pose == pytest.approx((1.0, 1.0, 0.5))
    assert w.size_m == pytest.approx((3.1, 2.1))
    # a path works too
    assert load_world(str(d2 / 'my_lab' / 'map.yaml')).name == 'my_lab'


def test_bad_worlds_give_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv('NANOROVER_WORLDS', str(tmp_path))
    with pytest.raises(WorldError, match='not found'):
        load_world('no_such_world')
    save_box_room(tmp_path / 'bad')
    (tmp_path / 'bad' / 'objects.yaml').write_text('objects:\n  - {cls: dragon, x: 1, y: 1}\n')
    with pytest.raises(WorldError, match='dragon'):
        load_world('bad')
    (tmp_path / 'bad' / 'objects.yaml').write_text('objects: [1, 2\n')
    with pytest.raises(WorldError, match='objects.yaml'):
        load_world('bad')
    (tmp_path / 'bad' / 'objects.yaml').write_text('start_pose: [1, 2]\n')
    with pytest.raises(WorldError, match='start_pose'):
        load_world('bad')
    (tmp_path / 'bad' / 'map.pgm').write_bytes(b'P2 garbage')
    (tmp_path / 'bad' / 'objects.yaml').write_text('{}\n')
    with pytest.raises(WorldError, match='map.pgm'):
        load_world('bad')
