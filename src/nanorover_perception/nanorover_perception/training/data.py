"""Training / evaluation images rendered by the simulator's camera renderer (exact boxes).

Scenes: a shipped world's map with (for training) its objects re-drawn at random: random classes,
free-space positions, yaw, size (+-20 %) and colours (jittered around the class colour, sometimes
random); wall/floor colours jittered too. Camera poses: 1-5 m from a random object, facing it
+- jitter, on a free cell of the map. Held-out evaluation uses another world with its own objects
and another seed.
"""
import math

import cv2
import numpy as np

from nanorover_sim import camera as simcam
from nanorover_sim import world as simworld
from nanorover_sim.diffdrive import load_robot_config

CLASSES = simworld.CLASSES
TRAIN_WORLDS = ('office', 'room')
HELDOUT_WORLD = 'hall'
MIN_BOX = 3.0  # px: smaller boxes (far, clipped) are not labelled
#: person and chair need more free space, so they are drawn more often to balance the classes
CLASS_PROBS = (0.34, 0.30, 0.18, 0.18)
MIN_VISIBLE = 0.25  # fraction of the object's pixels not occluded: less is not labelled


def _jitter_colour(base, rng, amount):
    return tuple(int(np.clip(c + rng.uniform(-amount, amount), 0, 255)) for c in base)


def randomised_world(base, rng, n_objects=None):
    """A copy of ``base`` (same map) with random objects and jittered wall/floor colours."""
    n = int(rng.integers(3, 9)) if n_objects is None else n_objects
    objects = []
    tries = 0
    while len(objects) < n and tries < 200:
        tries += 1
        cls = CLASSES[int(rng.choice(len(CLASSES), p=CLASS_PROBS))]
        size = [s * rng.uniform(0.8, 1.2) for s in simworld.DEFAULT_SIZES[cls]]
        rows, cols = np.nonzero(base.grid == 0)
        if rows.size == 0:
            break
        i = int(rng.integers(rows.size))
        x, y = base.cell_center(rows[i], cols[i])
        if not base.is_free(x, y, 0.5 * math.hypot(size[0], size[1]) + 0.1):
            continue
        if any(math.hypot(o.x - x, o.y - y) < 0.8 for o in objects):
            continue
        if rng.random() < 0.25:
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        else:
            colour = _jitter_colour(simworld.DEFAULT_COLORS[cls], rng, 45)
        objects.append(simworld.WorldObject(cls, x, y, rng.uniform(-math.pi, math.pi), size,
                                            colour))
    return simworld.World(base.name, base.grid, base.info, objects, base.start_pose,
                          path=base.path, wall_height=base.wall_height,
                          wall_color=_jitter_colour(base.wall_color, rng, 40),
                          floor_color=_jitter_colour(base.floor_color, rng, 30))


def sample_pose(world, rng, robot_radius, cam_x, hfov, tries=100, max_dist=7.0):
    """A free robot pose 1-``max_dist`` m from a random object, camera facing it +- jitter."""
    if not world.objects:
        return None
    for _ in range(tries):
        obj = world.objects[int(rng.integers(len(world.objects)))]
        d = rng.uniform(1.0, max_dist)
        phi = rng.uniform(-math.pi, math.pi)
        cx, cy = obj.x + d * math.cos(phi), obj.y + d * math.sin(phi)
        yaw = math.atan2(obj.y - cy, obj.x - cx) + rng.uniform(-0.4, 0.4) * hfov
        x, y = cx - cam_x * math.cos(yaw), cy - cam_x * math.sin(yaw)
        if world.is_free(x, y, robot_radius):
            return (x, y, yaw)
    return None


def labels_to_arrays(labels, width, height):
    """Renderer labels -> (boxes [N, 4] float32 clipped to the image, class ids [N])."""
    boxes, cls = [], []
    for lab in labels:
        if float(lab.get('visible', 1.0)) < MIN_VISIBLE:
            continue
        x1, y1, x2, y2 = [float(v) for v in lab['box']]
        x1, x2 = np.clip([x1, x2], 0, width)
        y1, y2 = np.clip([y1, y2], 0, height)
        if x2 - x1 < MIN_BOX or y2 - y1 < MIN_BOX:
            continue
        boxes.append((x1, y1, x2, y2))
        cls.append(int(lab['cls_id']))
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(cls, np.int64)


class SceneSampler(object):
    """Endless rendered (image, boxes, class ids) samples; reproducible from ``seed``."""

    def __init__(self, worlds=TRAIN_WORLDS, seed=0, randomise=True, world_every=8):
        self.rng = np.random.default_rng(seed)
        self.cfg = load_robot_config()
        self.camera = simcam.CameraModel.from_robot_config(self.cfg)
        self.base_worlds = [simworld.load_world(w) for w in worlds]
        self.randomise = randomise
        self.world_every = world_every
        self.count = 0
        self.renderer = None
        self.seed = seed
        self.robot_radius = float(self.cfg['robot']['radius'])
        self.cam_x = float(self.cfg['camera']['x'])
        self.hfov = float(self.cfg['camera']['horizontal_fov'])
        self.world = None

    def _new_world(self):
        base = self.base_worlds[int(self.rng.integers(len(self.base_worlds)))]
        self.world = randomised_world(base, self.rng) if self.randomise else base
        self.renderer = simcam.Renderer(self.world, self.camera, int(self.rng.integers(1 << 30)))

    def sample(self):
        while True:
            if self.renderer is None or (self.randomise and self.count % self.world_every == 0):
                self._new_world()
            self.count += 1
            pose = sample_pose(self.world, self.rng, self.robot_radius, self.cam_x, self.hfov)
            if pose is None:
                self.renderer = None
                continue
            image, labels = self.renderer.render(pose, rng=self.rng)
            boxes, cls = labels_to_arrays(labels, image.shape[1], image.shape[0])
            return image, boxes, cls


def render_set(world, n, seed, randomise=False):
    """A fixed list of n (image, boxes, class ids) samples."""
    sampler = SceneSampler((world,), seed=seed, randomise=randomise)
    return [sampler.sample() for _ in range(n)]


# ----------------------------------------------------------------------------------------------
# augmentation
# ----------------------------------------------------------------------------------------------
def augment(image, boxes, cls, rng, out_w, out_h, scale=(0.7, 1.3)):
    """Random scale + crop/pad to (out_w, out_h), horizontal flip, HSV / brightness jitter."""
    h, w = image.shape[:2]
    s = rng.uniform(*scale) * min(out_w / float(w), out_h / float(h))
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    img = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    # place the scaled image at a random offset inside / around the output canvas
    ox = int(rng.integers(min(0, out_w - nw), max(0, out_w - nw) + 1))
    oy = int(rng.integers(min(0, out_h - nh), max(0, out_h - nh) + 1))
    canvas = np.full((out_h, out_w, 3), 114, np.uint8)
    sx0, sy0 = max(0, -ox), max(0, -oy)
    dx0, dy0 = max(0, ox), max(0, oy)
    cw, ch = min(nw - sx0, out_w - dx0), min(nh - sy0, out_h - dy0)
    canvas[dy0:dy0 + ch, dx0:dx0 + cw] = img[sy0:sy0 + ch, sx0:sx0 + cw]
    b = boxes.astype(np.float32) * s + np.array([ox, oy, ox, oy], np.float32)
    area0 = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, out_w)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, out_h)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep = (area > 0.35 * np.maximum(area0, 1e-6)) & (b[:, 2] - b[:, 0] >= MIN_BOX) & \
        (b[:, 3] - b[:, 1] >= MIN_BOX)
    b, c = b[keep], cls[keep]
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1]
        b = np.stack([out_w - b[:, 2], b[:, 1], out_w - b[:, 0], b[:, 3]], axis=1)
    hsv = cv2.cvtColor(np.ascontiguousarray(canvas), cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-6, 6)) % 180
    hsv[..., 1] *= rng.uniform(0.6, 1.4)
    hsv[..., 2] = hsv[..., 2] * rng.uniform(0.6, 1.4) + rng.uniform(-20, 20)
    canvas = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    return canvas, b.reshape(-1, 4).astype(np.float32), c


def letterbox_sample(image, boxes, out_w, out_h):
    """Deterministic letterbox of a sample to the network input (evaluation / calibration)."""
    from nanorover_perception.detection import Letterbox
    lb = Letterbox(out_w, out_h)
    img = lb(image)
    b = boxes.astype(np.float64).copy()
    b[:, [0, 2]] = b[:, [0, 2]] * lb.sx + lb.pad_x
    b[:, [1, 3]] = b[:, [1, 3]] * lb.sy + lb.pad_y
    return img, b.astype(np.float32)


def to_tensor_batch(images):
    """List of BGR uint8 HxWx3 -> float32 RGB NCHW numpy batch /255 (same as the runtime)."""
    arr = np.stack(images)[..., ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))
