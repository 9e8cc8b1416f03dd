"""Navigation for real ROS 2 installs (launch / launch_ros do not exist on the pip path).

    ros2 launch nanorover_bringup navigation.launch.py                      # Nav2 (default)
    ros2 launch nanorover_bringup navigation.launch.py navigator:=embedded  # nanorover navigator
    ros2 launch nanorover_bringup navigation.launch.py navigator:=embedded explore:=true

navigator:=nav2 includes nav2_bringup's navigation_launch.py (planner/controller/behavior/
bt_navigator/smoother/waypoint/velocity_smoother servers + lifecycle manager) with
config/nav2.yaml; map and map -> odom come from slam.launch.py (or nav2_bringup's
localization_launch.py with a saved map). navigator:=embedded starts nanorover_navigation's
navigator_node with config/navigator.yaml (topics map, scan, odom, slam/pose, goal_pose ->
cmd_vel, navigation/status, navigation/path). Both get use_sim_time.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, GroupAction, IncludeLaunchDescription,
                            LogInfo, Shutdown)
from launch.conditions import LaunchConfigurationEquals
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.descriptions import ParameterValue
from nanorover_description.launch_common import common_arguments


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    config_dir = os.path.join(bringup_dir, 'config')

    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    autostart = LaunchConfiguration('autostart')
    nav2_params = LaunchConfiguration('nav2_params_file')
    embedded_params = LaunchConfiguration('embedded_params_file')
    robot_config = LaunchConfiguration('robot_config')
    explore = LaunchConfiguration('explore')
    log_level = LaunchConfiguration('log_level')
    sim_time = ParameterValue(use_sim_time, value_type=bool)

    args = [
        *common_arguments(),
        DeclareLaunchArgument('navigator', default_value='nav2',
                              choices=['nav2', 'embedded'],
                              description='Navigation stack: nav2 (nav2_bringup '
                                          'navigation_launch.py) or embedded (nanorover '
                                          'navigator_node)'),
        DeclareLaunchArgument('autostart', default_value='true',
                              description='Nav2: automatically start up the nav2 stack'),
        DeclareLaunchArgument('nav2_params_file',
                              default_value=os.path.join(config_dir, 'nav2.yaml'),
                              description='Full path to the Nav2 parameter file'),
        DeclareLaunchArgument('embedded_params_file',
                              default_value=os.path.join(config_dir, 'navigator.yaml'),
                              description='Full path to the navigator_node parameter file'),
        DeclareLaunchArgument('robot_config',
                              default_value=os.path.join(config_dir, 'robot.yaml'),
                              description='Robot geometry and limits for the embedded navigator'),
        DeclareLaunchArgument('explore', default_value='false',
                              description='Embedded navigator: explore (frontier exploration) '
                                          'until no frontier is left'),
    ]

    on_nav2 = LaunchConfigurationEquals('navigator', 'nav2')
    if _has_package('nav2_bringup'):
        nav2 = IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(
                get_package_share_directory('nav2_bringup'), 'launch', 'navigation_launch.py')),
            condition=on_nav2,
            launch_arguments={
                'namespace': namespace,
                'use_sim_time': use_sim_time,
                'autostart': autostart,
                'params_file': nav2_params,
                'use_composition': 'False',
                'use_respawn': 'False',
                'log_level': log_level,
            }.items(),
        )
    else:
        # navigator:=embedded must still work without Nav2; navigator:=nav2 says what is missing
        nav2 = GroupAction(condition=on_nav2, actions=[
            LogInfo(msg='navigator:=nav2 needs nav2_bringup (apt install '
                        'ros-$ROS_DISTRO-navigation2 ros-$ROS_DISTRO-nav2-bringup); or use '
                        'navigator:=embedded'),
            Shutdown(reason='nav2_bringup is not installed'),
        ])

    embedded = Node(
        condition=LaunchConfigurationEquals('navigator', 'embedded'),
        package='nanorover_navigation',
        executable='navigator_node',
        name='navigator_node',
        namespace=namespace,
        output='screen',
        parameters=[embedded_params, {
            'use_sim_time': sim_time,
            'robot_config': robot_config,
            'explore': ParameterValue(explore, value_type=bool),
        }],
        arguments=['--ros-args', '--log-level', log_level],
    )
    return LaunchDescription(args + [nav2, embedded])


def _has_package(name):
    try:
        get_package_share_directory(name)
        return True
    except Exception:  # noqa: BLE001 - PackageNotFoundError: Nav2 not installed
        return False
