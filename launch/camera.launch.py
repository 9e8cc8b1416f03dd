"""Camera node for real ROS 2 installs (launch / launch_ros do not exist on the pip path).

    ros2 launch nanorover_bringup camera.launch.py source:=/dev/video0 encoding:=rgb8

Parameters come from <nanorover_bringup share>/config/camera_node.yaml; the launch arguments
below override the most used ones. The calibration defaults to config/camera.yaml (standard
camera_info YAML); pass camera_info_url:='' for the uncalibrated pinhole from the FOV.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.descriptions import ParameterValue
from nanorover_description.launch_common import common_arguments


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    config_dir = os.path.join(bringup_dir, 'config')

    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    params_file = LaunchConfiguration('params_file')
    camera_info_url = LaunchConfiguration('camera_info_url')
    source = LaunchConfiguration('source')
    encoding = LaunchConfiguration('encoding')
    flip_method = LaunchConfiguration('flip_method')
    log_level = LaunchConfiguration('log_level')

    args = [
        *common_arguments(),
        DeclareLaunchArgument('params_file',
                              default_value=os.path.join(config_dir, 'camera_node.yaml'),
                              description='Full path to the camera_node parameter file'),
        DeclareLaunchArgument('camera_info_url',
                              default_value=os.path.join(config_dir, 'camera.yaml'),
                              description='Calibration YAML (camera_info format): path, file:// '
                                          'or package:// URL; empty = uncalibrated from the FOV'),
        DeclareLaunchArgument('source', default_value='csi',
                              description='csi[:N] (Jetson CSI camera), V4L2 device (0, '
                                          '/dev/video0), GStreamer pipeline or video file'),
        DeclareLaunchArgument('encoding', default_value='bgr8',
                              description='Image encoding: bgr8 or rgb8'),
        DeclareLaunchArgument('flip_method', default_value='0',
                              description='CSI only: nvvidconv flip-method (2 = rotate 180)'),
    ]

    camera = Node(
        package='nanorover_perception',
        executable='camera_node',
        name='camera_node',
        namespace=namespace,
        output='screen',
        parameters=[params_file, {
            'use_sim_time': ParameterValue(use_sim_time, value_type=bool),
            'camera_info_url': camera_info_url,
            'source': ParameterValue(source, value_type=str),
            'encoding': encoding,
            'flip_method': ParameterValue(flip_method, value_type=int),
        }],
        arguments=['--ros-args', '--log-level', log_level],
    )
    return LaunchDescription(args + [camera])
