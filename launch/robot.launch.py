"""The whole nanorover on the robot (Jetson Nano, ROS 2 Humble in Docker).

    ros2 launch nanorover_bringup robot.launch.py                          # map while driving
    ros2 launch nanorover_bringup robot.launch.py mode:=localization map:=/maps/office.yaml
    ros2 launch nanorover_bringup robot.launch.py mode:=none navigation:=false   # drivers only

Starts: robot_state_publisher (description.launch.py), the G4 driver (lidar.launch.py), the base
controller (nanorover_base base_node, config/base.yaml), the camera (camera.launch.py), mapping
(slam.launch.py: slam_toolbox or the embedded slam_node) or localisation in a saved map (Nav2
map_server + amcl from nav2_bringup's localization_launch.py), navigation (navigation.launch.py)
and the detector (detector.launch.py). Each subsystem's launch file declares its own arguments;
this file forwards the common ones (namespace, use_sim_time, log_level).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription
from launch.conditions import LaunchConfigurationEquals
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from nanorover_description.launch_common import (mission_includes, stack_arguments,
                                                 subsystem_includer)


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    launch_dir = os.path.join(bringup_dir, 'launch')
    config_dir = os.path.join(bringup_dir, 'config')
    nav2_bringup_dir = get_package_share_directory('nav2_bringup')

    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    robot_config = LaunchConfiguration('robot_config')
    log_level = LaunchConfiguration('log_level')

    args = stack_arguments(config_dir) + [
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='Use simulation (clock topic) time if true'),
        DeclareLaunchArgument('mode', default_value='slam',
                              choices=['slam', 'localization', 'none'],
                              description='slam: build a map while driving; localization: amcl '
                                          'in the saved map given by "map"; none: drivers only'),
        DeclareLaunchArgument('map', default_value='',
                              description='mode:=localization: map_server YAML of a saved map'),
        DeclareLaunchArgument('nav2_params_file',
                              default_value=os.path.join(config_dir, 'nav2.yaml'),
                              description='Nav2 parameters (amcl + map_server sections used for '
                                          'localization)'),
        DeclareLaunchArgument('lidar_port', default_value='/dev/ydlidar',
                              description='Serial device of the YDLIDAR G4 (udev symlink)'),
        DeclareLaunchArgument('base_port', default_value='/dev/nanorover_base',
                              description='Serial device of the motor microcontroller'),
        DeclareLaunchArgument('base_params_file',
                              default_value=os.path.join(config_dir, 'base.yaml'),
                              description='Full path to the base_node parameter file'),
        DeclareLaunchArgument('detector_model', default_value='nanorover_det_fp32.onnx',
                              description='Detector model: the FP32 ONNX runs FP16 in the '
                                          'TensorRT execution provider on the Nano (no INT8 on '
                                          'Maxwell); or a TensorRT .engine built on the robot'),
        DeclareLaunchArgument('camera_source', default_value='csi',
                              description='Camera: csi[:N], V4L2 device, GStreamer pipeline'),
    ]
    include = subsystem_includer(launch_dir, use_sim_time)

    base = Node(
        package='nanorover_base',
        executable='base_node',
        name='base_node',
        namespace=namespace,
        output='screen',
        respawn=True,
        respawn_delay=2.0,
        parameters=[LaunchConfiguration('base_params_file'), {
            'use_sim_time': ParameterValue(use_sim_time, value_type=bool),
            'port': LaunchConfiguration('base_port'),
            'robot_config': robot_config,
        }],
        arguments=['--ros-args', '--log-level', log_level],
    )

    localization = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(nav2_bringup_dir, 'launch',
                                                   'localization_launch.py')),
        launch_arguments={'namespace': namespace, 'use_sim_time': use_sim_time,
                          'map': LaunchConfiguration('map'),
                          'params_file': LaunchConfiguration('nav2_params_file'),
                          'autostart': 'true', 'log_level': log_level}.items(),
        condition=LaunchConfigurationEquals('mode', 'localization'))

    group = GroupAction([
        include('description.launch.py', robot_config=robot_config),
        include('lidar.launch.py', port=LaunchConfiguration('lidar_port')),
        base,
        include('camera.launch.py', source=LaunchConfiguration('camera_source')),
        include('slam.launch.py', condition=LaunchConfigurationEquals('mode', 'slam'),
                slam=LaunchConfiguration('slam'), robot_config=robot_config),
        localization,
    ] + mission_includes(include, model_path=LaunchConfiguration('detector_model')))
    return LaunchDescription(args + [group])
