"""Docker, compose, udev and CI files: structure checks (no Docker engine on the dev machines)."""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workspace as ws  # noqa: E402

REPO = ws.REPO
DOCKER = REPO / 'docker'
COMPOSE = yaml.safe_load((DOCKER / 'compose.yaml').read_text())
DOCKERFILES = sorted(p for p in DOCKER.glob('Dockerfile.*') if p.suffix != '.dockerignore')


def instructions(dockerfile):
    """[(INSTRUCTION, arguments)] with line continuations joined and comments dropped."""
    text = re.sub(r'\\\n', ' ', dockerfile.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            word, _, rest = line.partition(' ')
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfiles_found():
    assert {p.name for p in DOCKERFILES} == {'Dockerfile.jetson', 'Dockerfile.dev'}


@pytest.mark.parametrize('dockerfile', DOCKERFILES, ids=lambda p: p.name)
def test_copy_sources_exist_in_the_build_context(dockerfile):
    copies = [args for ins, args in instructions(dockerfile) if ins == 'COPY']
    assert copies
    for args in copies:
        parts = [p for p in shlex.split(args) if not p.startswith('--')]
        for src in parts[:-1]:
            assert (REPO / src).exists(), '%s: COPY %s: not in the repo root' % (
                dockerfile.name, src)
    ignore = dockerfile.with_name(dockerfile.name + '.dockerignore')
    assert '.venv' in ignore.read_text().split()


def test_jetson_image_base_and_runtime_pieces():
    ins = instructions(DOCKER / 'Dockerfile.jetson')
    args = dict(a.split('=', 1) for i, a in ins if i == 'ARG' and '=' in a)
    assert args['BASE_IMAGE'] == 'dustynv/ros:humble-ros-base-l4t-r32.7.1'
    text = ' '.join(a for _, a in ins)
    assert 'slam_toolbox' in args['ROS_PKGS'] and 'nav2_amcl' in args['ROS_PKGS']
    assert 'onnxruntime_gpu-1.11.0-cp36' in text and 'nvidia.box.com' in text
    assert 'colcon build' in text


def test_dev_image_has_gazebo_and_launch_testing():
    text = ' '.join(a for _, a in instructions(DOCKER / 'Dockerfile.dev'))
    for pkg in ('ros-jazzy-ros-gz', 'ros-jazzy-launch-testing', 'ros-jazzy-slam-toolbox',
                'ros-jazzy-nav2-bringup', 'liburdfdom-tools'):
        assert pkg in text


def test_compose_services_devices_and_host_networking():
    services = COMPOSE['services']
    assert set(services) == {'robot', 'sim', 'slam', 'navigate', 'rviz'}
    for name, svc in services.items():
        assert svc['network_mode'] == 'host' and svc['ipc'] == 'host', name
        assert (REPO / 'docker' / svc['build']['context'] / svc['build']['dockerfile']).exists()
    for name in ('robot', 'slam', 'navigate'):
        devices = [d.split(':')[0] for d in services[name]['devices']]
        assert '/dev/ydlidar' in devices and any(d.startswith('/dev/video') for d in devices)
        assert '/dev/nanorover_base' in devices
        assert services[name]['runtime'] == 'nvidia'


def test_compose_commands_use_existing_launch_files_and_arguments():
    for name, svc in COMPOSE['services'].items():
        cmd = shlex.split(svc['command'])
        if cmd[:2] != ['ros2', 'launch']:
            continue
        assert cmd[2] == 'nanorover_bringup'
        info = ws.LaunchFileInfo(ws.LAUNCH_DIR / cmd[3])
        for arg in cmd[4:]:
            key = arg.split(':=')[0]
            assert key in info.declared, '%s: %s does not declare %s' % (name, cmd[3], key)


def test_udev_rule_links_the_cp2102_to_the_configured_port():
    rules = [line for line in (DOCKER / '99-ydlidar.rules').read_text().splitlines()
             if line.strip() and not line.startswith('#')]
    assert len(rules) == 1
    keys = dict(re.findall(r'(\w+(?:\{\w+\})?)\+?==?"([^"]*)"', rules[0]))
    assert keys['ATTRS{idVendor}'] == '10c4' and keys['ATTRS{idProduct}'] == 'ea60'
    assert keys['SYMLINK'] == 'ydlidar' and keys['MODE'] == '0666'
    lidar_cfg = yaml.safe_load((REPO / 'config' / 'ydlidar_g4.yaml').read_text())
    assert lidar_cfg['/**']['ros__parameters']['port'] == '/dev/' + keys['SYMLINK']


def test_ci_workflow_builds_and_tests_in_a_ros_image():
    wf = yaml.safe_load((REPO / '.github' / 'workflows' / 'ros.yml').read_text())
    ros = wf['jobs']['ros-jazzy']
    assert ros['container'].startswith('osrf/ros:')
    steps = ' '.join(s.get('run', '') for s in ros['steps'])
    assert 'colcon build' in steps and '--return-code-on-test-failure' in steps
    assert 'pytest' in steps and 'tests' in steps
    pip = ' '.join(s.get('run', '') for s in wf['jobs']['pip-path']['steps'])
    assert '.ci/run' in pip


@pytest.mark.skipif(not (shutil.which('docker') and os.environ.get('NANOROVER_DOCKER_BUILD')),
                    reason='no Docker engine on the dev/CI machines: the images are built only '
                           'where docker exists and NANOROVER_DOCKER_BUILD=1 (Jetson: '
                           'Dockerfile.jetson needs an L4T r32.7.1 host)')
def test_dev_image_builds():
    subprocess.run(['docker', 'build', '-f', 'docker/Dockerfile.dev', '-t', 'nanorover:dev',
                    '.'], cwd=str(REPO), check=True, timeout=3600)
