"""Mapping for real ROS 2 installs (launch / launch_ros do not exist on the pip path).

    ros2 launch nanorover_bringup slam.launch.py                     # slam_toolbox (default)
    ros2 launch nanorover_bringup slam.launch.py slam:=embedded      # nanorover's slam_node

slam:=toolbox starts slam_toolbox's async_slam_toolbox_node with config/slam_toolbox.yaml;
slam:=embedded starts nanorover_navigation's slam_node with config/slam.yaml (same topics:
scan, odom -> map, map->odom TF). Both get use_sim_time.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import LaunchConfigurationEquals
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.descriptions import ParameterValue
from nanorover_description.launch_common import common_arguments


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    config_dir = os.path.join(bringup_dir, 'config')

    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    toolbox_params = LaunchConfiguration('toolbox_params_file')
    embedded_params = LaunchConfiguration('embedded_params_file')
    robot_config = LaunchConfiguration('robot_config')
    map_path = LaunchConfiguration('map_path')
    log_level = LaunchConfiguration('log_level')
    sim_time = ParameterValue(use_sim_time, value_type=bool)

    args = [
        *common_arguments(),
        DeclareLaunchArgument('slam', default_value='toolbox',
                              choices=['toolbox', 'embedded'],
                              description='SLAM implementation: toolbox (slam_toolbox '
                                          'async_slam_toolbox_node) or embedded (nanorover '
                                          'slam_node)'),
        DeclareLaunchArgument('toolbox_params_file',
                              default_value=os.path.join(config_dir, 'slam_toolbox.yaml'),
                              description='Full path to the slam_toolbox parameter file'),
        DeclareLaunchArgument('embedded_params_file',
                              default_value=os.path.join(config_dir, 'slam.yaml'),
                              description='Full path to the slam_node parameter file'),
        DeclareLaunchArgument('robot_config',
                              default_value=os.path.join(config_dir, 'robot.yaml'),
                              description='Robot geometry (lidar pose) for the embedded SLAM'),
        DeclareLaunchArgument('map_path', default_value='~/.nanorover/maps/map',
                              description='Embedded SLAM: default path of slam/save_map '
                                          '(without extension)'),
    ]

    toolbox = Node(
        condition=LaunchConfigurationEquals('slam', 'toolbox'),
        package='slam_toolbox',
        executable='async_slam_toolbox_node',
        name='slam_toolbox',
        namespace=namespace,
        output='screen',
        parameters=[toolbox_params, {'use_sim_time': sim_time}],
        arguments=['--ros-args', '--log-level', log_level],
    )

    embedded = Node(
        condition=LaunchConfigurationEquals('slam', 'embedded'),
        package='nanorover_navigation',
        executable='slam_node',
        name='slam_node',
        namespace=namespace,
        output='screen',
        parameters=[embedded_params, {
            'use_sim_time': sim_time,
            'robot_config': robot_config,
            'map_path': ParameterValue(map_path, value_type=str),
        }],
        arguments=['--ros-args', '--log-level', log_level],
    )
    return LaunchDescription(args + [toolbox, embedded])
