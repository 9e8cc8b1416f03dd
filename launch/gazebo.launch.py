"""nanorover in Gazebo (gz sim Harmonic + ros_gz, ROS 2 Jazzy; x86 PC or docker/Dockerfile.dev).

    ros2 launch nanorover_bringup gazebo.launch.py world:=office
    ros2 launch nanorover_bringup gazebo.launch.py world:=hall gui:=false detector:=false

Starts gz sim with nanorover_description/worlds/<world>.sdf (generated from the embedded
simulator's world of the same name), robot_state_publisher with the URDF in sim_mode (gz
diff-drive, joint states, gpu_lidar as the G4, camera as the embedded sim's), spawns it from
robot_description at the world's start pose (worlds/start_poses.yaml, or x/y/yaw), bridges
clock/scan/odom/tf/joint_states/cmd_vel/camera with ros_gz_bridge (config/gz_bridge.yaml), and
includes the same slam / navigation / detector launch files as the robot, all with use_sim_time.
"""
import os

import yaml
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, GroupAction, IncludeLaunchDescription,
                            OpaqueFunction)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from nanorover_description.launch_common import (mission_includes, stack_arguments,
                                                 subsystem_includer)

WORLDS = ['room', 'office', 'hall']


def spawn_robot(context):
    """ros_gz_sim create at the world's start pose unless x/y/yaw are given."""
    description_dir = get_package_share_directory('nanorover_description')
    world = LaunchConfiguration('world').perform(context)
    with open(os.path.join(description_dir, 'worlds', 'start_poses.yaml')) as f:
        start = yaml.safe_load(f).get(world, [0.0, 0.0, 0.0])
    pose = []
    for i, key in enumerate(('x', 'y', 'yaw')):
        value = LaunchConfiguration(key).perform(context)
        pose.append(value if value else str(start[i]))
    return [Node(
        package='ros_gz_sim',
        executable='create',
        namespace=LaunchConfiguration('namespace'),
        output='screen',
        arguments=['-name', 'nanorover', '-topic', 'robot_description',
                   '-x', pose[0], '-y', pose[1], '-z', '0.01', '-Y', pose[2]],
    )]


def gz_args(context):
    description_dir = get_package_share_directory('nanorover_description')
    world = LaunchConfiguration('world').perform(context)
    world_file = os.path.join(description_dir, 'worlds', world + '.sdf')
    headless = LaunchConfiguration('gui').perform(context).lower() != 'true'
    ros_gz_sim_dir = get_package_share_directory('ros_gz_sim')
    return [IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(ros_gz_sim_dir, 'launch', 'gz_sim.launch.py')),
        launch_arguments={'gz_args': world_file + ' -r' + (' -s --headless-rendering'
                                                           if headless else '')}.items())]


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    launch_dir = os.path.join(bringup_dir, 'launch')
    config_dir = os.path.join(bringup_dir, 'config')

    robot_config = LaunchConfiguration('robot_config')

    args = stack_arguments(config_dir) + [
        DeclareLaunchArgument('world', default_value='office', choices=WORLDS,
                              description='Gazebo world (same names as the embedded simulator)'),
        DeclareLaunchArgument('gui', default_value='true', choices=['true', 'false'],
                              description='Start the Gazebo GUI (false: server only, headless '
                                          'rendering for the sensors)'),
        DeclareLaunchArgument('x', default_value='',
                              description='Spawn x [m] (empty: the world\'s start pose)'),
        DeclareLaunchArgument('y', default_value='',
                              description='Spawn y [m] (empty: the world\'s start pose)'),
        DeclareLaunchArgument('yaw', default_value='',
                              description='Spawn yaw [rad] (empty: the world\'s start pose)'),
        DeclareLaunchArgument('bridge_config',
                              default_value=os.path.join(config_dir, 'gz_bridge.yaml'),
                              description='ros_gz_bridge topic configuration'),
    ]
    include = subsystem_includer(launch_dir, 'true')

    bridge = Node(
        package='ros_gz_bridge',
        executable='parameter_bridge',
        name='gz_bridge',
        namespace=LaunchConfiguration('namespace'),
        output='screen',
        parameters=[{'config_file': LaunchConfiguration('bridge_config'),
                     'use_sim_time': True}],
    )

    group = GroupAction([
        OpaqueFunction(function=gz_args),
        include('description.launch.py', robot_config=robot_config, sim_mode='true'),
        OpaqueFunction(function=spawn_robot),
        bridge,
        include('slam.launch.py', slam=LaunchConfiguration('slam'), robot_config=robot_config),
    ] + mission_includes(include))
    return LaunchDescription(args + [group])
