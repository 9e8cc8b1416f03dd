"""Every launch file in launch/ parses and names only packages, executables and files that exist.

launch / launch_ros are not installable here, so the files are read as syntax trees (see
workspace.py); tests/launch holds the launch_testing tests that run them on a ROS install.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workspace as ws  # noqa: E402

# launch files that the stack needs; each owner writes theirs
EXPECTED = ('description.launch.py', 'robot.launch.py', 'gazebo.launch.py', 'lidar.launch.py',
            'slam.launch.py', 'navigation.launch.py', 'camera.launch.py', 'detector.launch.py',
            'sim.launch.py')


def test_expected_launch_files_exist():
    names = {p.name for p in ws.launch_files()}
    missing = [n for n in EXPECTED if n not in names]
    assert not missing, 'launch/ lacks %s' % ', '.join(missing)


@pytest.mark.parametrize('path', ws.launch_files(), ids=lambda p: p.name)
def test_launch_file_names_only_existing_things(path):
    problems = ws.check_launch_file(path)
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('name', ['robot.launch.py', 'gazebo.launch.py'])
def test_included_launch_files_take_use_sim_time(name):
    """The top-level files pass use_sim_time to every include: each must declare it."""
    info = ws.LaunchFileInfo(ws.LAUNCH_DIR / name)
    included = sorted(f for f in info.file_names
                      if f.endswith('.launch.py') and (ws.LAUNCH_DIR / f).exists())
    assert 'description.launch.py' in included and 'slam.launch.py' in included
    infos = dict((f, ws.LaunchFileInfo(ws.LAUNCH_DIR / f)) for f in included)
    lacking = [f for f in included
               if 'use_sim_time' not in infos[f].declared and not infos[f].uses_stack]
    assert not lacking, 'declare use_sim_time in %s' % ', '.join(lacking)


def test_robot_and_gazebo_start_the_same_subsystems():
    robot = {f for f in ws.LaunchFileInfo(ws.LAUNCH_DIR / 'robot.launch.py').file_names
             if f.endswith('.launch.py')}
    gazebo = {f for f in ws.LaunchFileInfo(ws.LAUNCH_DIR / 'gazebo.launch.py').file_names
              if f.endswith('.launch.py')}
    for sub in ('slam.launch.py', 'navigation.launch.py', 'detector.launch.py',
                'description.launch.py'):
        assert sub in robot and sub in gazebo, sub
    assert 'gz_sim.launch.py' in gazebo and 'lidar.launch.py' in robot


# --- the check itself can fail --------------------------------------------------------------
BAD = '''
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from ament_index_python.packages import get_package_share_directory


def generate_launch_description():
    get_package_share_directory('nanorover_bringgup')
    return LaunchDescription([
        DeclareLaunchArgument('a', default_value='1'),
        Node(package='nanorover_base', executable='base_nod'),
        Node(package='slam_toolbox', executable='async_slam_toolbox_node',
             parameters=['missing_params.yaml', LaunchConfiguration('b')]),
        Node(package='no_such_pkg', executable='x'),
    ])
'''


def test_checker_reports_each_kind_of_mistake(tmp_path):
    bad = tmp_path / 'bad.launch.py'
    bad.write_text(BAD)
    text = '\n'.join(ws.check_launch_file(bad))
    assert "unknown package 'nanorover_bringgup'" in text
    assert "no executable 'base_nod'" in text
    assert "unknown package 'no_such_pkg'" in text
    assert 'missing_params.yaml' in text
    assert "argument 'a' has no description" in text
    assert 'undeclared argument(s) b' in text
    broken = tmp_path / 'broken.launch.py'
    broken.write_text('def generate_launch_description(:\n')
    assert 'does not parse' in ws.check_launch_file(broken)[0]


def test_console_scripts_are_read_from_setup_py():
    exes = ws.executables()
    assert {'base_node', 'motor_emulator'} <= exes['nanorover_base']
    assert 'ydlidar_g4_node' in exes['ydlidar_g4']
