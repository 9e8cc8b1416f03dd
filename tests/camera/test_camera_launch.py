"""launch/camera.launch.py: checked statically here; loaded for real where launch_ros exists."""
import importlib.util
from pathlib import Path

import pytest

from conftest import launch_arguments

LAUNCH = Path(__file__).resolve().parents[2] / 'launch' / 'camera.launch.py'


def declared_arguments():
    return launch_arguments(LAUNCH)


def test_launch_arguments_are_declared_with_descriptions():
    args = declared_arguments()
    for name in ('use_sim_time', 'params_file', 'camera_info_url', 'source', 'namespace'):
        assert name in args, name
    for name, kw in args.items():
        assert 'description' in kw and 'default_value' in kw, name
    text = LAUNCH.read_text()
    assert "get_package_share_directory('nanorover_bringup')" in text
    assert "'camera_node.yaml'" in text and "'camera.yaml'" in text
    for cfg in ('camera_node.yaml', 'camera.yaml'):
        assert (LAUNCH.parents[1] / 'config' / cfg).is_file()


def test_launch_description_loads():
    if importlib.util.find_spec('launch_ros') is None:
        pytest.skip('launch / launch_ros are not on the pip path (ROS2_ON_PIP.md): the launch '
                    'file is for real ROS installs')
    spec = importlib.util.spec_from_file_location('camera_launch', str(LAUNCH))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ld = mod.generate_launch_description()
    names = {a.name for a in ld.get_launch_arguments()}
    assert {'use_sim_time', 'params_file', 'camera_info_url', 'source'} <= names
