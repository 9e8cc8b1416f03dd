"""The nanorover stack in the embedded simulator, for ROS 2 installs (``ros2 launch``).

    ros2 launch nanorover_bringup sim.launch.py world:=office seed:=1 detector:=false

The process table (nodes, packages, param files from config/, parameter overrides) is
nanorover_bringup.stack.STACK — the same one `nanorover sim` runs on the pip path, so both start
identical processes. Every node runs on the sim's clock (use_sim_time) except sim_node itself;
any node exiting shuts the launch down, as `nanorover sim` stops on a dying node.
Recording: `ros2 bag record -s mcap ...` on a ROS install (the pip path records in-process).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown, TimerAction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from nanorover_bringup import stack

# the G4 driver opens the sim's pty link: give the sim a moment to create it
LIDAR_START_DELAY_S = 3.0


def node_action(spec, config_dir, arg_types):
    params = list(stack.params_file_paths(spec, config_dir))
    overrides = {}
    for param, arg in spec.overrides:
        overrides[param] = ParameterValue(LaunchConfiguration(arg), value_type=arg_types[arg])
    if spec.use_sim_time:
        overrides['use_sim_time'] = ParameterValue(LaunchConfiguration('use_sim_time'),
                                                   value_type=bool)
    if overrides:
        params.append(overrides)
    kwargs = {}
    if spec.enabled_by is not None:
        kwargs['condition'] = IfCondition(LaunchConfiguration(spec.enabled_by))
    return Node(package=spec.package, executable=spec.executable, name=spec.name,
                parameters=params, output='screen', emulate_tty=True,
                on_exit=[Shutdown(reason='%s exited' % spec.name)], **kwargs)


def generate_launch_description():
    config_dir = os.path.join(get_package_share_directory('nanorover_bringup'), 'config')
    arg_types = dict((a.name, a.type) for a in stack.LAUNCH_ARGS)
    ld = LaunchDescription()
    for arg in stack.LAUNCH_ARGS:
        ld.add_action(DeclareLaunchArgument(arg.name, default_value=stack.format_value(arg.default),
                                            description=arg.description))
    for spec in stack.STACK:
        action = node_action(spec, config_dir, arg_types)
        if spec.name == stack.WAITS_FOR_LIDAR_PORT:
            action = TimerAction(period=LIDAR_START_DELAY_S, actions=[action])
        ld.add_action(action)
    return ld
