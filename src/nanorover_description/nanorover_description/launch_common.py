"""Pieces shared by launch/robot.launch.py and launch/gazebo.launch.py.

Imported only by launch files, i.e. on ROS 2 installs (launch / launch_ros are not on the pip path);
tests/static reads this module together with the launch files that import it.
"""
import os

from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def stack_arguments(config_dir):
    """Arguments both top-level launch files declare (the subsystems' own are in their files)."""
    return [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Top-level namespace'),
        DeclareLaunchArgument('robot_config',
                              default_value=os.path.join(config_dir, 'robot.yaml'),
                              description='Robot geometry and limits (config/robot.yaml)'),
        DeclareLaunchArgument('slam', default_value='toolbox', choices=['toolbox', 'embedded'],
                              description='slam_toolbox or the embedded slam_node'),
        DeclareLaunchArgument('navigation', default_value='true', choices=['true', 'false'],
                              description='Start navigation (navigation.launch.py)'),
        DeclareLaunchArgument('detector', default_value='true', choices=['true', 'false'],
                              description='Start the object detector (detector.launch.py)'),
        DeclareLaunchArgument('log_level', default_value='info', description='Log level'),
    ]


def subsystem_includer(launch_dir, use_sim_time):
    """include(name, condition=None, **launch_args) for a launch file of ``launch_dir``; every
    include gets namespace, use_sim_time and log_level."""
    common = {'namespace': LaunchConfiguration('namespace'), 'use_sim_time': use_sim_time,
              'log_level': LaunchConfiguration('log_level')}

    def include(name, condition=None, **extra):
        launch_args = dict(common)
        launch_args.update(extra)
        return IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(launch_dir, name)),
            launch_arguments=launch_args.items(), condition=condition)
    return include


def mission_includes(include, **detector_args):
    """navigation.launch.py and detector.launch.py, each switched by its argument."""
    robot_config = LaunchConfiguration('robot_config')
    return [
        include('navigation.launch.py', condition=IfCondition(LaunchConfiguration('navigation')),
                robot_config=robot_config),
        include('detector.launch.py', condition=IfCondition(LaunchConfiguration('detector')),
                **detector_args),
    ]


def common_arguments():
    """namespace, use_sim_time and log_level: declared alike by every subsystem launch file."""
    return [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Top-level namespace'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='Use simulation (clock topic) time if true'),
        DeclareLaunchArgument('log_level', default_value='info', description='Log level'),
    ]
