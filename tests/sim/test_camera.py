"""Camera model and renderer: intrinsics, projection, exact labels, occlusion, determinism."""
import math

import numpy as np
import pytest

from helpers import box_corners, box_room, green_box
from nanorover_sim.camera import CameraModel, Renderer
from nanorover_sim.diffdrive import load_robot_config
from nanorover_sim.world import WorldObject, load_world


@pytest.fixture(scope='module')
def cam():
    return CameraModel.from_robot_config(load_robot_config())


def test_intrinsics(cam):
    cfg = load_robot_config()['camera']
    f = (cfg['width'] / 2.0) / math.tan(cfg['horizontal_fov'] / 2.0)
    assert cam.K == pytest.approx(np.array([[f, 0, (cfg['width'] - 1) / 2.0],
                                            [0, f, (cfg['height'] - 1) / 2.0], [0, 0, 1]]))
    try:
        from nanorover_perception.camera_info import default_intrinsics
    except ImportError:
        return
    assert cam.K == pytest.approx(default_intrinsics(cam.width, cam.height, cam.hfov))


def test_project(cam):
    bx, by, bz, _ = cam.pose_in_base
    # a point straight ahead of the camera at its height projects onto the principal point
    assert cam.project((2.0 + bx, by, bz), (0.0, 0.0, 0.0)) == pytest.approx((cam.cx, cam.cy))
    # 1 m ahead, 0.2 m to the left, 0.1 m up: u = cx - fx * 0.2, v = cy - fy * 0.1
    u, v = cam.project((3.0 + 1.0, 2.0 + 0.2, bz + 0.1), (3.0 - bx, 2.0, 0.0))
    assert (u, v) == pytest.approx((cam.cx - cam.fx * 0.2, cam.cy - cam.fy * 0.1))
    # rotated robot: heading +y, a point 1 m along +y is straight ahead
    assert cam.project((0.0, 1.0 + bx, bz), (0.0, 0.0, math.pi / 2)) == pytest.approx(
        (cam.cx, cam.cy))
    assert cam.project((-1.0, 0.0, bz), (0.0, 0.0, 0.0)) is None   # behind


def _green_mask(img):
    g = img[:, :, 1].astype(int)
    return (g > img[:, :, 0].astype(int) + 60) & (g > img[:, :, 2].astype(int) + 60)


def test_box_label_matches_projected_geometry(cam):
    world = box_room(6.0, 4.0, objects=[green_box(3.0, 2.3)])
    r = Renderer(world, cam, seed=0)
    pose = (1.0, 2.0, 0.0)
    img, labels = r.render(pose, noise=False)
    assert len(labels) == 1
    lab = labels[0]
    assert lab['cls'] == 'box' and lab['cls_id'] == 2 and lab['visible'] == pytest.approx(1.0)
    # the box's silhouette = hull of its 8 projected corners, as the intrinsics say
    us, vs = zip(*[cam.project(c, pose) for c in box_corners(3.0, 2.3)])
    x1, y1, x2, y2 = lab['box']
    # label box = first/last covered pixel; projected edges lie within a pixel of them
    assert x1 == pytest.approx(min(us), abs=1.0) and x2 - 1 == pytest.approx(max(us), abs=1.0)
    assert y1 == pytest.approx(min(vs), abs=1.5) and y2 - 1 == pytest.approx(max(vs), abs=1.0)
    # and the rendered green pixels fill the labelled region (the tape band on top is not green)
    ys, xs = np.nonzero(_green_mask(img))
    assert (xs.min(), xs.max() + 1, ys.max() + 1) == (x1, x2, y2)
    assert 0 <= ys.min() - y1 <= 2


def test_occlusion_between_objects_and_by_walls(cam):
    near = WorldObject('person', 2.5, 2.0, 0.0, color=(200, 50, 50))
    far = green_box(4.0, 2.0)
    world = box_room(6.0, 4.0, objects=[near, far])
    img, labels = Renderer(world, cam).render((1.0, 2.0, 0.0), noise=False)
    by_cls = {lab['cls']: lab for lab in labels}
    assert by_cls['person']['visible'] == pytest.approx(1.0)
    assert 0.0 < by_cls['box']['visible'] < 0.6      # partly hidden behind the legs
    # behind a wall: a box outside the room is not labelled
    hidden = green_box(7.0, 2.0)
    grid_world = box_room(6.0, 4.0, objects=[hidden])
    grid_world.objects = [hidden]
    _, labels = Renderer(grid_world, cam).render((1.0, 2.0, 0.0), noise=False)
    assert labels == []


def test_render_is_seeded_and_shows_the_world(cam):
    w = load_world('office')
    pose = w.start_pose
    a, la = Renderer(w, cam, seed=5).render(pose)
    b, lb = Renderer(w, cam, seed=5).render(pose)
    c, _ = Renderer(w, cam, seed=6).render(pose)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and la == lb
    assert not np.array_equal(a, c)
    assert a.std() > 10     # walls, floor and objects, not a flat image
    assert any(lab['cls'] == 'person' for lab in la)   # the corridor person straight ahead
    clean, _ = Renderer(w, cam).render(pose, noise=False)
    assert np.abs(clean.astype(int) - Renderer(w, cam).render(pose, noise=False)[0]).max() == 0
