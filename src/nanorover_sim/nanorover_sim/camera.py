"""Pinhole camera model and a fast column ray-casting renderer with exact box labels.

Frames: base_footprint (x forward, y left, z up) -> camera_link at ``pose_in_base`` = (x, y, z, pitch)
(pitch > 0 tilts the camera down, REP 103) -> camera_optical_frame (z forward, x right, y down).
Intrinsics: fx = fy = (width / 2) / tan(hfov / 2), cx = (width - 1) / 2, cy = (height - 1) / 2: the
ROS / OpenCV convention of nanorover_perception.camera_info.default_intrinsics (pixel centres at integer
coordinates, pixel (i, j) spans [i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]); no distortion.

Renderer: one ray per image column against the world's static walls (vectorised DDA, raycast.py) ->
wall span with distance/side shading, panel lines and a baseboard; a tiled floor cast per pixel and a
ceiling gradient; the objects drawn as upright shapes built from boxes/frusta (person, chair, box,
cone), projected with the pinhole model, painter's order between objects and a per-column depth test
against the walls.  Labels come from the per-pixel object-id buffer: box = bounding box of the pixels
where the object is visible (exact for the drawn geometry, occlusion included), visible = visible
pixels / pixels of the unoccluded object inside the image.  With pitch != 0 the wall/floor columns are
an approximation (each column is treated as vertical); objects and labels stay exact.
"""
import math

import cv2
import numpy as np

from nanorover_sim.raycast import cast_rays
from nanorover_sim.world import CLASSES

NEAR = 0.03          # m, near clipping plane (optical z)
MAX_RANGE = 30.0     # m, wall rays
_SHIFT = 4           # sub-pixel bits for cv2.fillConvexPoly


class CameraModel(object):
    """Pinhole intrinsics + the camera's pose on the robot."""

    def __init__(self, width, height, hfov_rad, pose_in_base=(0.1, 0.0, 0.11, 0.0)):
        self.width = int(width)
        self.height = int(height)
        if self.width <= 0 or self.height <= 0:
            raise ValueError('camera size must be positive, got %dx%d' % (self.width, self.height))
        self.hfov = float(hfov_rad)
        if not (0.0 < self.hfov < math.pi):
            raise ValueError('horizontal_fov must be in (0, pi) rad, got %r' % hfov_rad)
        self.fx = (self.width / 2.0) / math.tan(self.hfov / 2.0)
        self.fy = self.fx
        self.cx = (self.width - 1) / 2.0
        self.cy = (self.height - 1) / 2.0
        pose = tuple(float(v) for v in pose_in_base)
        if len(pose) != 4:
            raise ValueError('pose_in_base must be (x, y, z, pitch)')
        self.pose_in_base = pose

    @classmethod
    def from_robot_config(cls, cfg, width=None, height=None):
        """From config/robot.yaml's dict (whole file or its ``camera`` section)."""
        cam = cfg.get('camera', cfg)
        w = int(width or cam['width'])
        h = int(height or cam['height'])
        if width and not height:
            h = int(round(w * cam['height'] / float(cam['width'])))
        return cls(w, h, float(cam['horizontal_fov']),
                   (cam.get('x', 0.0), cam.get('y', 0.0), cam.get('z', 0.0), cam.get('pitch', 0.0)))

    @property
    def K(self):
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def D(self):
        return np.zeros(5)

    @property
    def P(self):
        return np.hstack([self.K, np.zeros((3, 1))])

    def camera_position(self, robot_pose):
        """(x, y, z) of the camera in the world for robot pose (x, y, yaw)."""
        x, y, yaw = robot_pose
        bx, by, bz, _ = self.pose_in_base
        c, s = math.cos(yaw), math.sin(yaw)
        return x + c * bx - s * by, y + s * bx + c * by, bz

    def rel_to_optical(self, fwd, left, up):
        """Camera-relative (forward, left, up along base axes) -> optical (X, Y, Z)."""
        p = self.pose_in_base[3]
        cp, sp = math.cos(p), math.sin(p)
        x_l = cp * fwd - sp * up
        z_l = sp * fwd + cp * up
        return -left, -z_l, x_l

    def world_to_optical(self, points, robot_pose):
        """Nx3 world points -> Nx3 optical-frame coordinates."""
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        cxw, cyw, cz = self.camera_position(robot_pose)
        yaw = robot_pose[2]
        c, s = math.cos(yaw), math.sin(yaw)
        dx, dy, dz = pts[:, 0] - cxw, pts[:, 1] - cyw, pts[:, 2] - cz
        fwd = c * dx + s * dy
        left = -s * dx + c * dy
        X, Y, Z = self.rel_to_optical(fwd, left, dz)
        return np.stack([X, Y, Z], axis=1)

    def project_optical(self, xyz):
        xyz = np.atleast_2d(xyz)
        z = xyz[:, 2]
        return np.stack([self.fx * xyz[:, 0] / z + self.cx, self.fy * xyz[:, 1] / z + self.cy],
                        axis=1)

    def project(self, point_xyz_world, robot_pose):
        """(u, v) pixel coordinates of a world point, or None when it is behind the camera or
        outside the image."""
        o = self.world_to_optical(point_xyz_world, robot_pose)[0]
        if o[2] <= NEAR:
            return None
        u = self.fx * o[0] / o[2] + self.cx
        v = self.fy * o[1] / o[2] + self.cy
        if not (-0.5 <= u < self.width - 0.5 and -0.5 <= v < self.height - 0.5):
            return None
        return float(u), float(v)


# -- object shapes ---------------------------------------------------------------------------------
# Parts in object-local unit coordinates: x along the object's depth d (facing yaw), y across its
# width w, z up in units of its height h: (x0, x1, y0, y1, z0, z1, top_scale, colour) where colour is
# 'main' (the object's colour), 'dark' (main * 0.55) or an explicit (b, g, r).
_PARTS = {
    'box': [(-0.5, 0.5, -0.5, 0.5, 0.0, 1.0, 1.0, 'main'),
            (-0.505, 0.505, -0.08, 0.08, 0.0, 1.002, 1.0, (60, 150, 190))],   # tape band
    'cone': [(-0.5, 0.5, -0.5, 0.5, 0.0, 0.06, 1.0, 'dark'),
             (-0.36, 0.36, -0.36, 0.36, 0.06, 0.45, 0.62, 'main'),
             (-0.225, 0.225, -0.225, 0.225, 0.45, 0.65, 0.72, (235, 235, 235)),
             (-0.16, 0.16, -0.16, 0.16, 0.65, 1.0, 0.35, 'main')],
    'person': [(-0.25, 0.25, 0.05, 0.34, 0.0, 0.47, 1.0, (70, 55, 45)),       # legs
               (-0.25, 0.25, -0.34, -0.05, 0.0, 0.47, 1.0, (70, 55, 45)),
               (-0.42, 0.42, -0.34, 0.34, 0.47, 0.81, 1.0, 'main'),         # torso
               (-0.3, 0.3, 0.34, 0.5, 0.45, 0.80, 1.0, 'main'),             # arms
               (-0.3, 0.3, -0.5, -0.34, 0.45, 0.80, 1.0, 'main'),
               (-0.15, 0.15, -0.08, 0.08, 0.81, 0.86, 1.0, (125, 160, 210)),  # neck
               (-0.34, 0.34, -0.21, 0.21, 0.86, 0.98, 1.0, (135, 170, 220)),  # head
               (-0.36, 0.3, -0.22, 0.22, 0.95, 1.0, 1.0, (30, 35, 40))],      # hair
    'chair': [(0.34, 0.46, 0.34, 0.46, 0.0, 0.47, 1.0, (80, 80, 80)),       # legs
              (0.34, 0.46, -0.46, -0.34, 0.0, 0.47, 1.0, (80, 80, 80)),
              (-0.46, -0.34, 0.34, 0.46, 0.0, 0.47, 1.0, (80, 80, 80)),
              (-0.46, -0.34, -0.46, -0.34, 0.0, 0.47, 1.0, (80, 80, 80)),
              (-0.5, 0.5, -0.5, 0.5, 0.47, 0.53, 1.0, 'main'),               # seat
              (-0.5, -0.38, -0.5, 0.5, 0.53, 1.0, 1.0, 'main')],             # backrest
}
for _c in CLASSES:
    assert _c in _PARTS

# the 6 faces of a part as corner indices (corners: bottom 0-3 CCW from (+x,+y), top 4-7)
_FACES = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [0, 3, 7, 4], [1, 0, 4, 5], [2, 1, 5, 6],
                   [3, 2, 6, 7]])


def _part_corners(obj, part):
    x0, x1, y0, y1, z0, z1, top, _ = part
    w, d, h = obj.size
    xs = np.array([x1, x0, x0, x1]) * d
    ys = np.array([y1, y1, y0, y0]) * w
    xm, ym = (x0 + x1) / 2 * d, (y0 + y1) / 2 * w
    xt = xm + (xs - xm) * top
    yt = ym + (ys - ym) * top
    lx = np.concatenate([xs, xt])
    ly = np.concatenate([ys, yt])
    lz = np.array([z0] * 4 + [z1] * 4) * h
    c, s = math.cos(obj.yaw), math.sin(obj.yaw)
    return np.stack([obj.x + c * lx - s * ly, obj.y + s * lx + c * ly, lz], axis=1)


def _clip_near(poly):
    """Sutherland-Hodgman clip of an optical-frame polygon (Nx3) against Z >= NEAR."""
    out = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ina, inb = a[2] >= NEAR, b[2] >= NEAR
        if ina:
            out.append(a)
        if ina != inb:
            t = (NEAR - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out) if len(out) >= 3 else None


class Renderer(object):
    """Renders BGR images of a World from a robot pose, with exact box labels."""

    def __init__(self, world, camera_model, seed=0, tile=0.5):
        self.world = world
        self.cam = camera_model
        self.rng = np.random.default_rng(seed)
        self.tile = float(tile)
        cam = camera_model
        w, h = cam.width, cam.height
        # static walls only (objects are drawn as 3-D shapes); its distance transform speeds rays up
        from scipy import ndimage
        self._walls = world.walls
        self._walls_clear = ndimage.distance_transform_edt(~self._walls) * world.info.resolution
        # per column: horizontal ray angle relative to the camera heading
        u = np.arange(w, dtype=np.float64)
        self.col_angle = np.arctan2(-(u - cam.cx) / cam.fx, 1.0)
        self.col_cos = np.cos(self.col_angle)
        self.col_sin = np.sin(self.col_angle)
        self.rows = np.arange(h, dtype=np.float64).reshape(h, 1)
        # per pixel: the floor point (camera-relative forward/left) seen by the pixel
        vv, uu = np.mgrid[0:h, 0:w].astype(np.float64)
        xn = (uu - cam.cx) / cam.fx
        yn = (vv - cam.cy) / cam.fy
        p = cam.pose_in_base[3]
        cp, sp = math.cos(p), math.sin(p)
        # optical (xn, yn, 1) -> camera_link (1, -xn, -yn) -> base axes
        dfwd = cp * 1.0 + sp * (-yn)
        dup = -sp * 1.0 + cp * (-yn)
        dleft = -xn
        self.floor_mask = dup < -1e-6
        with np.errstate(divide='ignore', invalid='ignore'):
            s = np.where(self.floor_mask, -cam.pose_in_base[2] / dup, 0.0)
        self.floor_fwd = (s * dfwd)[self.floor_mask]
        self.floor_left = (s * dleft)[self.floor_mask]
        self.floor_dist = np.hypot(self.floor_fwd, self.floor_left)
        # ceiling/upper background: vertical gradient (bgr), float32
        t = np.clip((vv[:, :1] / h), 0.0, 1.0)
        sky = np.array([200.0, 205.0, 210.0]) * (1.0 - 0.25 * t)
        self._bg = np.repeat(sky[:, None, :], w, axis=1).astype(np.float32)
        fc = np.array(world.floor_color, dtype=np.float32)
        fade = (1.0 / (1.0 + 0.06 * self.floor_dist)).astype(np.float32)
        self._floor_base = fc[None, :] * (0.75 + 0.25 * fade)[:, None]
        self._floor_contrast = (0.10 * np.exp(-self.floor_dist / 3.0)).astype(np.float32)
        self._parts = {}
        # pixel noise: random crops of a seeded Gaussian field (drawing fresh noise per frame would
        # cost as much as the rest of the frame)
        self._noise = np.random.default_rng(seed + 7919).standard_normal(
            (h + 64, w + 64, 3), dtype=np.float32)

    # -- public ------------------------------------------------------------------------------
    def project(self, point_xyz_world, robot_pose):
        return self.cam.project(point_xyz_world, robot_pose)

    def random_lighting(self, rng):
        return {'gain': float(rng.uniform(0.6, 1.35)),
                'tint': tuple(float(v) for v in rng.uniform(0.88, 1.12, size=3)),
                'light_azimuth': float(rng.uniform(-math.pi, math.pi)),
                'ambient': float(rng.uniform(0.45, 0.75)),
                'noise_std': float(rng.uniform(1.5, 7.0))}

    def render(self, robot_pose_xyyaw, rng=None, noise=True, lighting=None):
        """Render the view from robot pose (x, y, yaw) -> (bgr uint8 HxWx3, labels).

        labels: list of dict(cls, cls_id, box=(x1, y1, x2, y2) = first visible pixel column/row and
        last + 1 (so x2 - x1 is the width in pixels),
        visible=fraction 0..1 of the object's in-image pixels not occluded, in_frame=fraction of
        its projected bounding box inside the image (truncation), depth=m (forward from the camera),
        index=object index in world.objects), nearest first.  ``lighting``: dict (gain, tint (b, g, r),
        light_azimuth, ambient, noise_std) or None: random from ``rng`` when ``noise`` is on,
        neutral otherwise.  ``rng``: numpy Generator (default: the renderer's own, seeded).
        """
        rng = self.rng if rng is None else rng
        if lighting is None:
            lighting = self.random_lighting(rng) if noise else {}
        gain = float(lighting.get('gain', 1.0))
        tint = np.asarray(lighting.get('tint', (1.0, 1.0, 1.0)), dtype=np.float32)
        az = float(lighting.get('light_azimuth', 0.7))
        ambient = float(lighting.get('ambient', 0.6))
        light = np.array([math.cos(az) * 0.6, math.sin(az) * 0.6, 0.8])
        light /= np.linalg.norm(light)

        cam = self.cam
        x, y, yaw = (float(v) for v in robot_pose_xyyaw)
        cxw, cyw, cz = cam.camera_position((x, y, yaw))
        c, s = math.cos(yaw), math.sin(yaw)

        img = self._bg.copy()
        # floor
        fx_w = cxw + c * self.floor_fwd - s * self.floor_left
        fy_w = cyw + s * self.floor_fwd + c * self.floor_left
        parity = ((np.floor(fx_w / self.tile) + np.floor(fy_w / self.tile)).astype(np.int64) & 1)
        shade = 1.0 + self._floor_contrast * (parity * 2 - 1).astype(np.float32)
        img[self.floor_mask] = self._floor_base * shade[:, None]

        # walls: one ray per column
        angles = yaw + self.col_angle
        dist, hr, hc, normal_x, normal_y = cast_rays(self._walls, self.world.info, cxw, cyw, angles, MAX_RANGE,
                                 with_cells=True, clearance=self._walls_clear)
        dist = np.maximum(dist, 1e-3)
        fwd = dist * self.col_cos
        left = dist * self.col_sin
        H = self.world.wall_height
        v_top = self._row_of(fwd, left, H - cz)
        v_bot = self._row_of(fwd, left, -cz)
        v_base = self._row_of(fwd, left, 0.09 - cz)
        hit = hr >= 0
        xface = normal_x != 0.0
        hx = cxw + dist * np.cos(angles)
        hy = cyw + dist * np.sin(angles)
        lam = ambient + (1.0 - ambient) * np.clip(normal_x * light[0] + normal_y * light[1] + 0.35,
                                                  0.0, 1.0)
        along = np.where(xface, hy, hx)
        panel = np.where(np.abs(along - np.round(along / 1.2) * 1.2) < 0.015, 0.8, 1.0)
        fade = 1.0 / (1.0 + 0.05 * dist)
        col_shade = (lam * fade * panel * np.where(hit, 1.0, 0.0)).astype(np.float32)
        wall_col = np.asarray(self.world.wall_color, dtype=np.float32)[None, :] * col_shade[:, None]
        base_col = wall_col * 0.45
        rows = self.rows
        wall_mask = (rows >= v_top[None, :]) & (rows < v_bot[None, :]) & hit[None, :]
        base_mask = wall_mask & (rows >= v_base[None, :])
        img = np.where(wall_mask[:, :, None],
                       np.where(base_mask[:, :, None], base_col[None, :, :], wall_col[None, :, :]),
                       img)

        # objects
        labels = self._draw_objects(img, (x, y, yaw), fwd, light, ambient)

        # lighting + noise
        img *= gain * tint[None, None, :]
        if noise:
            std = float(lighting.get('noise_std', 3.0))
            if std > 0:
                oy, ox = rng.integers(0, 64, size=2)
                img += self._noise[oy:oy + img.shape[0], ox:ox + img.shape[1]] * np.float32(std)
        np.clip(img, 0, 255, out=img)
        return img.astype(np.uint8), labels

    # -- internals ---------------------------------------------------------------------------
    def _row_of(self, fwd, left, up):
        X, Y, Z = self.cam.rel_to_optical(fwd, left, up)
        Z = np.maximum(Z, 1e-6)
        return self.cam.fy * Y / Z + self.cam.cy

    def _object_parts(self, index, obj):
        """World-frame corners (P x 8 x 3) and colours of an object's parts (cached)."""
        cached = self._parts.get(index)
        if cached is None:
            corners, colours = [], []
            for part in _PARTS[obj.cls]:
                corners.append(_part_corners(obj, part))
                col = part[7]
                if col == 'main':
                    col = obj.color
                elif col == 'dark':
                    col = tuple(v * 0.55 for v in obj.color)
                colours.append(np.asarray(col, dtype=np.float32))
            cached = (np.array(corners), colours)
            self._parts[index] = cached
        return cached

    def _draw_objects(self, img, pose, wall_fwd, light, ambient):
        cam = self.cam
        W, Hh = cam.width, cam.height
        cxw, cyw, cz = cam.camera_position(pose)
        c, s = math.cos(pose[2]), math.sin(pose[2])
        todo = []
        for k, obj in enumerate(self.world.objects):
            dx, dy = obj.x - cxw, obj.y - cyw
            f = c * dx + s * dy
            reach = 0.75 * max(obj.size[0], obj.size[1])
            if f < -reach:
                continue
            todo.append((f, k, obj))
        todo.sort(key=lambda e: -e[0])  # painter's order: far first
        idbuf = np.full((Hh, W), -1, dtype=np.int32)
        full_px = {}
        roi_of = {}
        for f, k, obj in todo:
            corners, colours = self._object_parts(k, obj)
            P = corners.shape[0]
            opt = cam.world_to_optical(corners.reshape(-1, 3), pose).reshape(P, 8, 3)
            if (opt[:, :, 2] < NEAR).all():
                continue
            # faces of every part: (polygon in pixels, colour, depth) with near-plane clipping
            # faces turned towards the camera (world-frame normals, cached), painter's order
            fcen, fnrm, flit = self._object_faces(k, light, ambient)
            to_cam = np.array([cxw, cyw, cz]) - fcen
            vis = np.einsum('pfi,pfi->pf', to_cam, fnrm) > 0
            fdist = np.sqrt(np.einsum('pfi,pfi->pf', to_cam, to_cam))
            faces = []
            for p, fi in zip(*np.nonzero(vis)):
                fp = opt[p, _FACES[fi]]
                if (fp[:, 2] < NEAR).any():
                    fp = _clip_near(fp)
                    if fp is None:
                        continue
                faces.append((fdist[p, fi], cam.project_optical(fp), colours[p], flit[p, fi]))
            if not faces:
                continue
            allpts = np.concatenate([fc_[1] for fc_ in faces])
            bu0, bu1 = allpts[:, 0].min(), allpts[:, 0].max()
            bv0, bv1 = allpts[:, 1].min(), allpts[:, 1].max()
            in_frame = ((min(bu1, W) - max(bu0, 0.0)) * (min(bv1, Hh) - max(bv0, 0.0)) /
                        max((bu1 - bu0) * (bv1 - bv0), 1e-9))
            u0 = max(int(math.floor(bu0)), 0)
            u1 = min(int(math.ceil(bu1)) + 1, W)
            v0 = max(int(math.floor(bv0)), 0)
            v1 = min(int(math.ceil(bv1)) + 1, Hh)
            if u0 >= u1 or v0 >= v1:
                continue
            layer = np.zeros((v1 - v0, u1 - u0, 3), dtype=np.float32)
            mask = np.zeros((v1 - v0, u1 - u0), dtype=np.uint8)
            faces.sort(key=lambda e: -e[0])
            off = np.array([u0, v0], dtype=np.float64)
            for _, uv, col, lam in faces:
                q = np.round((uv - off) * (1 << _SHIFT)).astype(np.int64)
                q = np.clip(q, -(1 << 26), 1 << 26).astype(np.int32)
                cv2.fillConvexPoly(layer, q, tuple(float(v) * lam for v in col), lineType=cv2.LINE_8,
                                   shift=_SHIFT)
                cv2.fillConvexPoly(mask, q, 1, lineType=cv2.LINE_8, shift=_SHIFT)
            m = mask.astype(bool)
            full = int(m.sum())
            if full == 0:
                continue
            # depth test against the walls of each column (object depth: its centre's forward)
            m &= (f < wall_fwd[u0:u1])[None, :]
            full_px[k] = (full, f, max(0.0, min(1.0, in_frame)))
            roi_of[k] = (v0, v1, u0, u1)
            sub = img[v0:v1, u0:u1]
            sub[m] = layer[m]
            idbuf[v0:v1, u0:u1][m] = k
        labels = []
        for k, (full, f, in_frame) in full_px.items():
            v0, v1, u0, u1 = roi_of[k]
            ys, xs = np.nonzero(idbuf[v0:v1, u0:u1] == k)
            if ys.size == 0:
                continue
            obj = self.world.objects[k]
            labels.append({'cls': obj.cls, 'cls_id': obj.cls_id,
                           'box': (int(xs.min()) + u0, int(ys.min()) + v0,
                                   int(xs.max()) + u0 + 1, int(ys.max()) + v0 + 1),
                           'visible': min(1.0, ys.size / float(full)), 'depth': float(f),
                           'in_frame': float(in_frame), 'index': k})
        labels.sort(key=lambda lab: lab['depth'])
        return labels

    def _object_faces(self, index, light, ambient):
        """Face centres, outward unit normals (P x 6 x 3, world frame) and light factors."""
        key = ('faces', index)
        cached = self._parts.get(key)
        if cached is None:
            corners = self._object_parts(index, self.world.objects[index])[0]
            fp = corners[:, _FACES]                         # P x 6 x 4 x 3
            fcen = fp.mean(axis=2)
            nrm = np.cross(fp[:, :, 1] - fp[:, :, 0], fp[:, :, 2] - fp[:, :, 0])
            out = np.einsum('pfi,pfi->pf', nrm, fcen - corners.mean(axis=1)[:, None, :])
            nrm *= np.where(out < 0, -1.0, 1.0)[:, :, None]
            nrm /= np.linalg.norm(nrm, axis=2, keepdims=True) + 1e-12
            cached = (fcen, nrm)
            self._parts[key] = cached
        fcen, nrm = cached
        d = np.einsum('pfi,i->pf', nrm, light)
        return fcen, nrm, ambient + (1.0 - ambient) * np.clip(d + 0.2, 0.0, None) / 1.2
