"""The xacro URDF: expands in both modes, check_urdf accepts it, geometry = config/robot.yaml,
Gazebo sensors = the embedded simulator's, frames per REP 103/105."""
import inspect
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
XACRO = REPO / 'src' / 'nanorover_description' / 'urdf' / 'nanorover.urdf.xacro'
CONFIG = REPO / 'config' / 'robot.yaml'
CFG = yaml.safe_load(CONFIG.read_text())


def expand(sim_mode, config=CONFIG):
    import xacro
    doc = xacro.process_file(str(XACRO), mappings={'robot_config': str(config),
                                                   'sim_mode': 'true' if sim_mode else 'false'})
    return doc.toxml()


@pytest.fixture(scope='module', params=[False, True], ids=['robot', 'sim'])
def urdf(request):
    return expand(request.param)


@pytest.fixture(scope='module')
def sim_urdf():
    return ET.fromstring(expand(True))


def test_check_urdf_accepts_both_modes(urdf, tmp_path):
    check = shutil.which('check_urdf')
    assert check, 'check_urdf missing: make installs Debian liburdfdom-tools'
    path = tmp_path / 'nanorover.urdf'
    path.write_text(urdf)
    proc = subprocess.run([check, str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    assert 'root Link: base_footprint' in proc.stdout


def test_check_urdf_rejects_a_broken_tree(tmp_path):
    """The check above can fail: a joint naming a missing parent link is refused."""
    path = tmp_path / 'bad.urdf'
    path.write_text(expand(False).replace('<parent link="base_link"/>',
                                          '<parent link="no_such_link"/>', 1))
    proc = subprocess.run([shutil.which('check_urdf'), str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    assert proc.returncode != 0


def _joints(root):
    return dict((j.get('name'), j) for j in root.iter('joint'))


def _origin(joint):
    o = joint.find('origin')
    xyz = [float(v) for v in o.get('xyz', '0 0 0').split()]
    rpy = [float(v) for v in o.get('rpy', '0 0 0').split()]
    return xyz, rpy


def _tf(xyz, rpy):
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = (math.cos(r), math.sin(r), math.cos(p), math.sin(p),
                              math.cos(y), math.sin(y))
    m = np.eye(4)
    m[:3, :3] = [[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                 [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                 [-sp, cp * sr, cp * cr]]
    m[:3, 3] = xyz
    return m


def test_frame_tree_and_geometry_come_from_robot_yaml(urdf):
    root = ET.fromstring(urdf)
    joints = _joints(root)
    tree = dict((j.find('child').get('link'), j.find('parent').get('link'))
                for j in joints.values())
    assert tree == {'base_link': 'base_footprint', 'left_wheel_link': 'base_link',
                    'right_wheel_link': 'base_link', 'caster_link': 'base_link',
                    'laser_frame': 'base_link', 'camera_link': 'base_link',
                    'camera_optical_frame': 'camera_link'}
    robot, lidar, cam = CFG['robot'], CFG['lidar'], CFG['camera']
    assert _origin(joints['base_joint'])[0] == pytest.approx([0, 0, robot['wheel_radius']])
    for side, sign in (('left', 1), ('right', -1)):
        j = joints[side + '_wheel_joint']
        assert j.get('type') == 'continuous'
        assert j.find('axis').get('xyz') == '0 1 0'
        assert _origin(j)[0] == pytest.approx([0, sign * robot['wheel_base'] / 2, 0])
        wmax = (robot['max_linear_velocity'] + robot['max_angular_velocity']
                * robot['wheel_base'] / 2) / robot['wheel_radius']
        assert float(j.find('limit').get('velocity')) == pytest.approx(wmax)
    assert _origin(joints['laser_joint']) == (pytest.approx([lidar['x'], lidar['y'], lidar['z']]),
                                              pytest.approx([0, 0, lidar['yaw']]))
    assert _origin(joints['camera_joint'])[0] == pytest.approx([cam['x'], cam['y'], cam['z']])
    # caster touches the ground: base_link height - caster offset = caster radius
    caster_z = _origin(joints['caster_joint'])[0][2] + robot['wheel_radius']
    assert caster_z == pytest.approx(robot['caster_radius'])
    masses = sum(float(m.get('value')) for m in root.iter('mass'))
    assert masses == pytest.approx(robot['mass'])


def test_optical_frame_follows_rep103(urdf):
    """camera_optical_frame: z forward (= camera_link x), x right (= -y), y down (= -z)."""
    xyz, rpy = _origin(_joints(ET.fromstring(urdf))['camera_optical_joint'])
    rot = _tf(xyz, rpy)[:3, :3]
    assert rot[:, 2] == pytest.approx([1, 0, 0], abs=1e-9)    # optical z along body x
    assert rot[:, 0] == pytest.approx([0, -1, 0], abs=1e-9)   # optical x along body -y
    assert rot[:, 1] == pytest.approx([0, 0, -1], abs=1e-9)   # optical y along body -z


def test_another_config_changes_the_urdf(tmp_path):
    """Nothing is hard-coded: a different robot.yaml gives a different wheel base."""
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg['robot']['wheel_base'] = 0.5
    other = tmp_path / 'robot.yaml'
    other.write_text(yaml.safe_dump(cfg))
    j = _joints(ET.fromstring(expand(False, other)))['left_wheel_joint']
    assert _origin(j)[0][1] == pytest.approx(0.25)


def test_robot_mode_has_no_gazebo_elements():
    assert '<gazebo' not in expand(False)


def _sensor(root, name):
    for s in root.iter('sensor'):
        if s.get('name') == name:
            return s
    raise AssertionError('no sensor %s' % name)


def test_diff_drive_system_uses_robot_yaml(sim_urdf):
    robot = CFG['robot']
    plugins = dict((p.get('filename'), p) for p in sim_urdf.iter('plugin'))
    dd = plugins['gz-sim-diff-drive-system']
    assert float(dd.findtext('wheel_separation')) == pytest.approx(robot['wheel_base'])
    assert float(dd.findtext('wheel_radius')) == pytest.approx(robot['wheel_radius'])
    assert float(dd.findtext('max_linear_velocity')) == pytest.approx(robot['max_linear_velocity'])
    assert float(dd.findtext('max_angular_acceleration')) == pytest.approx(
        robot['max_angular_accel'])
    assert (dd.findtext('left_joint'), dd.findtext('right_joint')) == ('left_wheel_joint',
                                                                       'right_wheel_joint')
    assert (dd.findtext('frame_id'), dd.findtext('child_frame_id')) == ('odom', 'base_footprint')
    assert 'gz-sim-joint-state-publisher-system' in plugins


def test_gpu_lidar_equals_the_embedded_simulators_g4(sim_urdf):
    """Range, beams per turn, rate and noise as nanorover_sim runs the G4."""
    from nanorover_sim import lidar as sim_lidar
    from nanorover_sim.sim_node import SPECS
    defaults = dict((p.name, p.default) for p in SPECS)
    rate_hz = defaults['lidar_frequency']
    sample_khz = defaults['lidar_sample_rate']
    noise = inspect.signature(sim_lidar.LidarModel).parameters['noise_std_m'].default
    s = _sensor(sim_urdf, 'g4')
    assert s.get('type') == 'gpu_lidar'
    assert s.findtext('gz_frame_id') == 'laser_frame'
    assert float(s.findtext('update_rate')) == pytest.approx(rate_hz)
    h = s.find('lidar/scan/horizontal')
    assert int(h.findtext('samples')) == int(round(sample_khz * 1000 / rate_hz))
    assert float(h.findtext('max_angle')) - float(h.findtext('min_angle')) == pytest.approx(
        2 * math.pi)
    assert float(s.findtext('lidar/range/min')) == pytest.approx(
        sim_lidar.RANGE_MIN_BY_RATE[sample_khz])
    assert float(s.findtext('lidar/range/max')) == pytest.approx(sim_lidar.RANGE_MAX)
    assert s.findtext('lidar/noise/type') == 'gaussian'
    assert float(s.findtext('lidar/noise/stddev')) == pytest.approx(noise)


def test_camera_equals_the_embedded_simulators(sim_urdf):
    """Same size, field of view, rate and pose as the sim camera (nanorover_sim.camera
    CameraModel from robot.yaml), hence the same intrinsics fx = fy = (w/2)/tan(hfov/2)."""
    from nanorover_sim.camera import CameraModel
    from nanorover_sim.sim_node import SPECS
    model = CameraModel.from_robot_config(CFG)
    s = _sensor(sim_urdf, 'camera')
    assert s.get('type') == 'camera'
    assert s.findtext('gz_frame_id') == 'camera_optical_frame'
    width = int(s.findtext('camera/image/width'))
    hfov = float(s.findtext('camera/horizontal_fov'))
    assert (width, int(s.findtext('camera/image/height'))) == (model.width, model.height)
    assert hfov == pytest.approx(model.hfov)
    assert (width / 2.0) / math.tan(hfov / 2.0) == pytest.approx(model.fx)
    sim_rate = dict((p.name, p.default) for p in SPECS)['camera_rate'] or CFG['camera']['rate']
    assert float(s.findtext('update_rate')) == pytest.approx(sim_rate)
    xyz, rpy = _origin(_joints(sim_urdf)['camera_joint'])
    assert xyz + [rpy[1]] == pytest.approx(list(model.pose_in_base))
    assert s.findtext('topic') == '/camera/image_raw'
