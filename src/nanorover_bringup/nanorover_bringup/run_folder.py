"""The run folder of `nanorover sim`, written from what the recorder collected (ROS-free).

Files: map.pgm + map.yaml (map_server pair), trajectory_{estimate,odometry,ground_truth}.csv
(t,x,y,yaw), detections.jsonl, summary.json, overview.png (recording.mcap is written live by the
recorder). Every writer works on partial data: a run stopped early still gets what it has.
"""
import csv
import json
import math
import os

import numpy as np

from nanorover_common.map_io import write_map
from nanorover_navigation.evaluation import ate
from nanorover_navigation.geometry import se2_compose, se2_inverse, transform_points

TRAJECTORIES = (('estimate', 'slam/pose'), ('odometry', 'odom'),
                ('ground_truth', 'sim/ground_truth'))


class RunData(object):
    """Everything collected during a run (filled by the recorder's handlers)."""

    def __init__(self):
        self.poses = dict((name, []) for name, _ in TRAJECTORIES)  # name -> [(t, x, y, yaw)]
        self.map_grid = None     # int8 [rows, cols], row 0 at the origin
        self.map_info = None     # MapInfo
        self.map_stamp = None
        self.map_updates = 0
        self.detections = []     # dicts: t, frame_id, image_width, image_height, detections[]
        self.detection_frames = 0
        self.camera_k = None     # 9 floats of camera_info.k
        self.collisions = 0
        self.collision_messages = 0
        self.scans = 0
        self.sim_time = 0.0
        self.nav_states = {}

    def add_pose(self, name, t, x, y, yaw):
        self.poses[name].append((float(t), float(x), float(y), float(yaw)))

    def set_map(self, grid, info, stamp):
        self.map_grid = np.asarray(grid, dtype=np.int8)
        self.map_info = info
        self.map_stamp = stamp
        self.map_updates += 1

    def add_detections(self, t, frame_id, width, height, detections):
        self.detection_frames += 1
        if detections:
            self.detections.append({'t': float(t), 'frame_id': frame_id,
                                    'image_width': int(width), 'image_height': int(height),
                                    'detections': list(detections)})

    def trajectory(self, name):
        """(N, 4) array t, x, y, yaw sorted by t (empty (0, 4) when nothing came)."""
        rows = self.poses[name]
        if not rows:
            return np.zeros((0, 4))
        arr = np.array(rows, dtype=float)
        return arr[np.argsort(arr[:, 0], kind='stable')]


# --- numbers ----------------------------------------------------------------------------------

def map_coverage(grid, resolution):
    """Known area (free + occupied cells) in m²."""
    if grid is None:
        return 0.0
    return float(np.count_nonzero(np.asarray(grid) >= 0) * resolution * resolution)


def interpolate_poses(traj, times):
    """Poses of ``traj`` (N, 4: t, x, y, yaw) at ``times`` (inside its time span); returns
    (mask of times that could be interpolated, (M, 3) poses)."""
    times = np.asarray(times, dtype=float)
    if len(traj) < 2:
        return np.zeros(len(times), bool), np.zeros((0, 3))
    inside = (times >= traj[0, 0]) & (times <= traj[-1, 0])
    t = times[inside]
    yaw = np.unwrap(traj[:, 3])
    poses = np.stack([np.interp(t, traj[:, 0], traj[:, 1]), np.interp(t, traj[:, 0], traj[:, 2]),
                      np.interp(t, traj[:, 0], yaw)], axis=1)
    return inside, poses


def associate(est, gt):
    """Pairs (est poses, gt poses at the same stamps), both (M, 3)."""
    inside, gt_poses = interpolate_poses(gt, est[:, 0] if len(est) else [])
    return est[inside][:, 1:4], gt_poses


def absolute_trajectory_error(est, gt):
    """ATE (RMSE, m) of trajectory ``est`` against ``gt`` (both (N, 4) t, x, y, yaw) after SE(2)
    alignment; returns (value or None, implementation name, number of pose pairs)."""
    e, g = associate(est, gt)
    if len(e) < 3:
        return None, None, len(e)
    return ate(e, g), 'nanorover_navigation.evaluation.ate', len(e)


def detection_positions(detection_msgs, camera_k, camera_pose, trajectory):
    """Floor positions of detected objects, in the trajectory's frame.

    The bottom centre of each box is where the object stands on the floor: its pixel ray from the
    camera (intrinsics ``camera_k``, pose ``camera_pose`` = dict x, y, z, pitch in base_link) hits
    the floor plane; the robot pose at the image stamp comes from ``trajectory``. Boxes touching
    the image's bottom edge (foot not visible) or rays above the horizon are skipped.
    Returns a list of (class_name, x, y, score); each located detection dict also gets
    ``position`` [x, y].
    """
    if camera_k is None or len(trajectory) < 2 or not detection_msgs:
        return []
    fx, cx, fy, cy = camera_k[0], camera_k[2], camera_k[4], camera_k[5]
    if fx <= 0 or fy <= 0:
        return []
    cam_x, cam_y = float(camera_pose.get('x', 0.0)), float(camera_pose.get('y', 0.0))
    cam_z, pitch = float(camera_pose.get('z', 0.0)), float(camera_pose.get('pitch', 0.0))
    inside, poses = interpolate_poses(trajectory, [m['t'] for m in detection_msgs])
    out = []
    for msg, pose in zip([m for m, ok in zip(detection_msgs, inside) if ok], poses):
        for det in msg['detections']:
            if det['y_max'] >= msg['image_height'] - 1.5:
                continue
            xn = ((det['x_min'] + det['x_max']) / 2.0 - cx) / fx
            yn = (det['y_max'] - cy) / fy
            # optical ray (xn, yn, 1) in base_link axes, camera pitched down by `pitch`
            fwd = math.cos(pitch) - yn * math.sin(pitch)
            down = math.sin(pitch) + yn * math.cos(pitch)
            if down <= 1e-3 or cam_z <= 0:
                continue
            s = cam_z / down
            if s * fwd > 10.0:
                continue
            p = transform_points(pose, [[cam_x + s * fwd, cam_y - s * xn]])[0]
            det['position'] = [round(float(p[0]), 3), round(float(p[1]), 3)]
            out.append((det['class_name'], float(p[0]), float(p[1]), float(det['score'])))
    return out


# --- files ------------------------------------------------------------------------------------

def write_trajectory_csv(path, traj):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['t', 'x', 'y', 'yaw'])
        for row in traj:
            w.writerow(['%.9f' % row[0], '%.6f' % row[1], '%.6f' % row[2], '%.6f' % row[3]])


def write_detections_jsonl(path, detection_msgs):
    with open(path, 'w') as f:
        for msg in detection_msgs:
            f.write(json.dumps(msg, sort_keys=True) + '\n')


def _frame_transforms(trajs):
    """Transforms into the plotting frame: map (SLAM) when there is an estimate, else world."""
    est, odom, gt = trajs['estimate'], trajs['odometry'], trajs['ground_truth']

    def first_pair(a, b):
        # the transform taking b's frame into a's frame: a(t0) (+) inverse(b(t0)) at a common t0
        inside, b_at = interpolate_poses(b, a[:, 0])
        if not inside.any():
            return None
        i = int(np.argmax(inside))
        return se2_compose(a[i, 1:4], se2_inverse(b_at[0]))

    if len(est) >= 2:
        frame = 'map'
        t_world = first_pair(est, gt) if len(gt) >= 2 else None
        t_odom = first_pair(est, odom) if len(odom) >= 2 else None
        t_map = np.zeros(3)
    else:
        frame = 'world' if len(gt) >= 2 else 'odom'
        t_world = np.zeros(3) if frame == 'world' else None
        t_odom = (first_pair(gt, odom) if len(odom) >= 2 else None) if frame == 'world' \
            else np.zeros(3)
        t_map = t_odom  # without a SLAM estimate, the map frame is taken as the odom frame
    return frame, {'world': t_world, 'odom': t_odom, 'map': t_map}


def _in_frame(traj, transform):
    if transform is None or len(traj) == 0:
        return None
    return transform_points(transform, traj[:, 1:3])


def _known_corners(grid, info, transform):
    """Corners of the bounding box of the known cells of ``grid``, in the plotting frame."""
    known = np.argwhere(np.asarray(grid) >= 0)
    if not len(known):
        return np.zeros((0, 2))
    (r0, c0), (r1, c1) = known.min(axis=0), known.max(axis=0)
    corners = np.array([[c0, r0], [c1 + 1, r0], [c0, r1 + 1], [c1 + 1, r1 + 1]],
                       float) * info.resolution
    return transform_points(transform, transform_points(info.origin, corners))


def _view_bounds(point_sets, margin=0.5):
    pts = [p for p in point_sets if p is not None and len(p)]
    if not pts:
        return (-1.0, 1.0), (-1.0, 1.0)
    pts = np.concatenate(pts)
    lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    return (lo[0], hi[0]), (lo[1], hi[1])


def plot_overview(path, data, world=None, title='', det_points=(), det_frame='map'):
    """overview.png: map, trajectories (GT / SLAM / odometry), detected and true objects."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Affine2D

    trajs = dict((n, data.trajectory(n)) for n, _ in TRAJECTORIES)
    frame, tf = _frame_transforms(trajs)
    fig = Figure(figsize=(11, 8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)

    def image(grid, info, transform, alpha, zorder, walls_only=False):
        g = np.asarray(grid).astype(float)
        if walls_only:  # the true walls as a see-through overlay: the reference for the map
            rgb = np.zeros(g.shape + (4,))
            rgb[g >= 65] = (0.1, 0.7, 0.2, alpha)
        else:
            # occupancy 0..100 -> white..black (undecided grey), unknown -1 -> light blue-grey
            shade = np.clip(1.0 - g / 100.0, 0.0, 1.0)
            rgb = np.stack([shade, shade, shade], axis=-1)
            rgb[g < 0] = (0.78, 0.82, 0.88)
        rows, cols = grid.shape
        ox, oy, oyaw = info.origin
        extent = (ox, ox + cols * info.resolution, oy, oy + rows * info.resolution)
        im = ax.imshow(rgb, origin='lower', extent=extent, interpolation='nearest',
                       alpha=None if walls_only else alpha, zorder=zorder)
        x, y, yaw = transform
        # the map origin's yaw rotates about the origin, then the frame transform applies
        trans = Affine2D().rotate_around(ox, oy, oyaw).rotate(yaw).translate(x, y)
        im.set_transform(trans + ax.transData)
        return extent

    shown = []  # points that must be in view: known map cells, trajectories, objects
    if data.map_grid is not None and tf['map'] is not None:
        image(data.map_grid, data.map_info, tf['map'], 1.0, 1)
        shown.append(_known_corners(data.map_grid, data.map_info, tf['map']))
        if world is not None and tf['world'] is not None:
            image(world.grid, world.info, tf['world'], 0.35, 2, walls_only=True)
            ax.plot([], [], 's', color=(0.1, 0.7, 0.2), alpha=0.35, label='true walls')
    elif world is not None and tf['world'] is not None:
        image(world.grid, world.info, tf['world'], 0.5, 1)
        shown.append(_known_corners(world.grid, world.info, tf['world']))
    styles = (('ground_truth', 'world', 'tab:green', 'ground truth'),
              ('estimate', 'map', 'tab:blue', 'SLAM estimate'),
              ('odometry', 'odom', 'tab:red', 'odometry only'))
    for name, parent, color, label in styles:
        pts = _in_frame(trajs[name], tf[parent])
        if pts is not None:
            shown.append(pts)
            ax.plot(pts[:, 0], pts[:, 1], '-', color=color, lw=1.2, label=label, zorder=3)
            ax.plot(pts[:1, 0], pts[:1, 1], 'o', color=color, ms=5, zorder=4)
    if world is not None and tf['world'] is not None and world.objects:
        pts = transform_points(tf['world'], [[o.x, o.y] for o in world.objects])
        shown.append(pts)
        ax.plot(pts[:, 0], pts[:, 1], 's', mfc='none', mec='tab:purple', ms=9, mew=1.5,
                label='world objects', zorder=5)
        for o, p in zip(world.objects, pts):
            ax.annotate(o.cls, p, textcoords='offset points', xytext=(5, 5), fontsize=7,
                        color='tab:purple', zorder=6)
    if len(det_points) and tf[det_frame] is not None:
        pts = transform_points(tf[det_frame], [[p[1], p[2]] for p in det_points])
        ax.plot(pts[:, 0], pts[:, 1], 'x', color='tab:orange', ms=5, alpha=0.6,
                label='detections (%d)' % len(pts), zorder=5)
    bounds = _view_bounds(shown)
    ax.set_aspect('equal')
    ax.set_xlabel('x [m] (%s frame)' % frame)
    ax.set_ylabel('y [m]')
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.8)
    ax.set_xlim(*bounds[0])
    ax.set_ylim(*bounds[1])
    fig.tight_layout()
    fig.savefig(path)
    return frame


def write_run_folder(out_dir, data, meta, world=None, camera_pose=None):
    """Write every file of the run folder; returns the summary dict (also in summary.json).

    meta: world, seed, duration, realtime_factor, nodes_run, nodes_missing, nodes_disabled,
    exit_code, exit_reason, drive, topics (counts), ... (copied into the summary as given).
    """
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    files = {}
    errors = []
    trajs = dict((n, data.trajectory(n)) for n, _ in TRAJECTORIES)
    for name, _topic in TRAJECTORIES:
        path = os.path.join(out_dir, 'trajectory_%s.csv' % name)
        write_trajectory_csv(path, trajs[name])
        files['trajectory_' + name] = os.path.basename(path)
    if data.map_grid is not None:
        try:
            write_map(os.path.join(out_dir, 'map'), data.map_grid, data.map_info)
            files['map'] = 'map.yaml'
        except Exception as exc:  # noqa: BLE001 - a bad map must not lose the other files
            errors.append('map: %s' % exc)
    det_frame = 'map' if len(trajs['estimate']) >= 2 else 'odom'
    det_points = detection_positions(
        data.detections, data.camera_k, camera_pose or {},
        trajs['estimate'] if det_frame == 'map' else trajs['odometry'])
    write_detections_jsonl(os.path.join(out_dir, 'detections.jsonl'), data.detections)
    files['detections'] = 'detections.jsonl'

    per_class = {}
    for msg in data.detections:
        for det in msg['detections']:
            per_class[det['class_name']] = per_class.get(det['class_name'], 0) + 1
    ate_slam, impl_s, n_s = absolute_trajectory_error(trajs['estimate'], trajs['ground_truth'])
    ate_odom, impl_o, n_o = absolute_trajectory_error(trajs['odometry'], trajs['ground_truth'])
    gt = trajs['ground_truth']
    path_len = float(np.sum(np.hypot(np.diff(gt[:, 1]), np.diff(gt[:, 2])))) if len(gt) else 0.0
    summary = dict(meta)
    summary.update({
        'sim_time_reached': round(data.sim_time, 3),
        'scans_received': data.scans,
        'map_updates': data.map_updates,
        'map_coverage_m2': round(map_coverage(data.map_grid, data.map_info.resolution), 3)
        if data.map_grid is not None else 0.0,
        'ate_slam_m': None if ate_slam is None else round(ate_slam, 4),
        'ate_odometry_m': None if ate_odom is None else round(ate_odom, 4),
        'ate_pairs': {'slam': n_s, 'odometry': n_o},
        'ate_implementation': impl_s or impl_o,
        'ground_truth_path_length_m': round(path_len, 3),
        'collisions': data.collisions,
        'detection_frames': data.detection_frames,
        'detections_per_class': per_class,
        'detected_positions': len(det_points),
        'detected_positions_frame': det_frame,
        'navigation_states': data.nav_states,
        'files': files,
    })
    if world is not None:
        summary['world_objects'] = len(world.objects)
    try:
        title = '%s  seed %s  %.0f s sim  map %.1f m²  ATE slam %s / odom %s m' % (
            meta.get('world'), meta.get('seed'), data.sim_time, summary['map_coverage_m2'],
            '-' if ate_slam is None else '%.3f' % ate_slam,
            '-' if ate_odom is None else '%.3f' % ate_odom)
        summary['overview_frame'] = plot_overview(os.path.join(out_dir, 'overview.png'), data,
                                                  world, title, det_points, det_frame)
        files['overview'] = 'overview.png'
    except Exception as exc:  # noqa: BLE001 - a plotting problem must not lose the summary
        errors.append('overview: %s' % exc)
    if os.path.isfile(os.path.join(out_dir, 'recording.mcap')):
        files['recording'] = 'recording.mcap'
    if errors:
        summary['write_errors'] = errors
    with open(os.path.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write('\n')
    return summary

