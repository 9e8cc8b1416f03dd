"""Rendered test views from the simulator's camera renderer (exact boxes)."""
import numpy as np

from nanorover_perception.training import data as D


def clear_views(world='office', seed=3, n=1, min_area=600.0):
    """n (image, labels) views whose every labelled object is fully visible and in frame, with at
    least one box of ``min_area`` px; rendered without noise and with neutral lighting."""
    from nanorover_sim import camera as simcam
    from nanorover_sim import world as simworld
    from nanorover_sim.diffdrive import load_robot_config
    cfg = load_robot_config()
    w = simworld.load_world(world)
    renderer = simcam.Renderer(w, simcam.CameraModel.from_robot_config(cfg), seed)
    rng = np.random.default_rng(seed)
    views = []
    for _ in range(500):
        pose = D.sample_pose(w, rng, float(cfg['robot']['radius']), float(cfg['camera']['x']),
                             float(cfg['camera']['horizontal_fov']))
        if pose is None:
            continue
        image, labels = renderer.render(pose, noise=False)
        big = [lab for lab in labels if lab['visible'] >= 0.95 and lab['in_frame'] >= 0.99 and
               (lab['box'][2] - lab['box'][0]) * (lab['box'][3] - lab['box'][1]) >= min_area]
        if big and len(big) == len(labels):
            views.append((image, big))
            if len(views) == n:
                return views
    raise AssertionError('no clear view found in world %s' % world)
