"""robot_state_publisher with the nanorover URDF (xacro), for real ROS 2 installs.

    ros2 launch nanorover_bringup description.launch.py                  # robot
    ros2 launch nanorover_bringup description.launch.py sim_mode:=true use_sim_time:=true

The URDF is expanded at launch time from nanorover_description/urdf/nanorover.urdf.xacro with the
geometry of config/robot.yaml (argument robot_config). On the robot nothing else publishes the
wheel joints, so joint_state_publisher publishes them at zero (the wheels then show up in RViz);
in Gazebo (sim_mode) the gz joint-state system publishes them through the bridge.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import UnlessCondition
from launch.substitutions import Command, LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    bringup_dir = get_package_share_directory('nanorover_bringup')
    description_dir = get_package_share_directory('nanorover_description')
    xacro_file = os.path.join(description_dir, 'urdf', 'nanorover.urdf.xacro')

    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    robot_config = LaunchConfiguration('robot_config')
    sim_mode = LaunchConfiguration('sim_mode')
    sim_time = ParameterValue(use_sim_time, value_type=bool)

    args = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Top-level namespace'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='Use simulation (clock topic) time if true'),
        DeclareLaunchArgument('robot_config',
                              default_value=os.path.join(bringup_dir, 'config', 'robot.yaml'),
                              description='Robot geometry and limits (config/robot.yaml)'),
        DeclareLaunchArgument('sim_mode', default_value='false', choices=['true', 'false'],
                              description='Add the Gazebo (gz sim) systems and sensors to the URDF'),
    ]

    robot_description = ParameterValue(
        Command(['xacro ', xacro_file, ' robot_config:=', robot_config, ' sim_mode:=', sim_mode]),
        value_type=str)

    rsp = Node(
        package='robot_state_publisher',
        executable='robot_state_publisher',
        name='robot_state_publisher',
        namespace=namespace,
        output='screen',
        parameters=[{'robot_description': robot_description, 'use_sim_time': sim_time}],
    )
    jsp = Node(
        condition=UnlessCondition(sim_mode),
        package='joint_state_publisher',
        executable='joint_state_publisher',
        name='joint_state_publisher',
        namespace=namespace,
        output='screen',
        parameters=[{'use_sim_time': sim_time}],
    )
    return LaunchDescription(args + [rsp, jsp])
