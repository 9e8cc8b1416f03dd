"""YDLIDAR G4 driver for a real ROS 2 install (Humble / Jazzy).

    ros2 launch nanorover_bringup lidar.launch.py port:=/dev/ttyUSB0 frequency:=7.0

Parameters come from config/ydlidar_g4.yaml (installed by nanorover_bringup); the launch
arguments below override the most common ones. Not runnable on the pip-only path (no launch).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from nanorover_description.launch_common import common_arguments


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    default_params = os.path.join(bringup_dir, 'config', 'ydlidar_g4.yaml')

    namespace = LaunchConfiguration('namespace')
    params_file = LaunchConfiguration('params_file')
    use_sim_time = LaunchConfiguration('use_sim_time')
    port = LaunchConfiguration('port')
    frame_id = LaunchConfiguration('frame_id')
    frequency = LaunchConfiguration('frequency')
    log_level = LaunchConfiguration('log_level')

    declare_args = [
        *common_arguments(),
        DeclareLaunchArgument('params_file', default_value=default_params,
                              description='Full path to the ydlidar_g4_node parameter file'),
        DeclareLaunchArgument('port', default_value='/dev/ydlidar',
                              description='Serial device of the G4'),
        DeclareLaunchArgument('frame_id', default_value='laser_frame',
                              description='Frame of the published LaserScan'),
        DeclareLaunchArgument('frequency', default_value='10.0',
                              description='Scan frequency [Hz], 5-12'),
    ]

    lidar_node = Node(
        package='ydlidar_g4',
        executable='ydlidar_g4_node',
        name='ydlidar_g4_node',
        namespace=namespace,
        output='screen',
        emulate_tty=True,
        respawn=True,
        respawn_delay=2.0,
        parameters=[
            params_file,
            {
                'use_sim_time': ParameterValue(use_sim_time, value_type=bool),
                'port': port,
                'frame_id': frame_id,
                'frequency': ParameterValue(frequency, value_type=float),
            },
        ],
        arguments=['--ros-args', '--log-level', log_level],
    )

    return LaunchDescription(declare_args + [lidar_node])
