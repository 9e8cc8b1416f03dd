"""nanorover_bringup installs config/ and launch/; the launch file mirrors the process table."""
import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from nanorover_bringup import stack

REPO = Path(__file__).resolve().parents[2]
VERMIN = str(Path(sys.executable).parent / 'vermin')
LAUNCH = REPO / 'launch' / 'sim.launch.py'


def share():
    from ament_index_python.packages import get_package_share_directory
    return Path(get_package_share_directory('nanorover_bringup'))


@pytest.mark.parametrize('folder, pattern', [('config', '*.yaml'), ('launch', '*.launch.py')])
def test_top_level_files_are_in_the_share_directory(folder, pattern):
    files = sorted((REPO / folder).glob(pattern))
    assert files, 'nothing in %s/' % folder
    for f in files:
        installed = share() / folder / f.name
        assert installed.exists(), '%s not installed (run make build after adding it)' % f.name
        assert filecmp.cmp(str(installed), str(f), shallow=False)


def test_every_param_file_of_the_table_is_passed_when_it_exists():
    cfg = str(share() / 'config')
    for spec in stack.STACK:
        args = stack.ros_args(spec, stack.default_args(), cfg)
        for name in spec.params_files:
            if (REPO / 'config' / name).exists():
                assert str(share() / 'config' / name) in args


def test_table_and_launch_file_run_on_python36():
    """The launch file and the table it imports run on the robot's Humble (Python 3.6)."""
    proc = subprocess.run([VERMIN, '-t=3.6-', '--violations', '--no-tips', '--eval-annotations',
                           '--no-parse-comments', str(LAUNCH), stack.__file__],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stdout


def test_launch_description_mirrors_the_table():
    pytest.importorskip('launch_ros', reason='launch / launch_ros are not on the pip path (no '
                        'ROS distro here); runs on a ROS 2 install')
    import importlib.util
    spec = importlib.util.spec_from_file_location('sim_launch', str(LAUNCH))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ld = module.generate_launch_description()
    from launch.actions import DeclareLaunchArgument
    declared = [a.name for a in ld.entities if isinstance(a, DeclareLaunchArgument)]
    assert declared == [a.name for a in stack.LAUNCH_ARGS]
    assert len(ld.entities) == len(stack.LAUNCH_ARGS) + len(stack.STACK)
