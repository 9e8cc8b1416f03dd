"""Launch the detector node (real ROS 2 installs; launch is not available on the pip path).

    ros2 launch nanorover_bringup detector.launch.py [use_sim_time:=true] [params_file:=...]
        [model_path:=nanorover_det_fp32.onnx] [namespace:=robot1]

Nav2-style arguments; the parameters come from config/detector.yaml of nanorover_bringup.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from nanorover_description.launch_common import common_arguments


def generate_launch_description():
    config_dir = os.path.join(get_package_share_directory('nanorover_bringup'), 'config')
    namespace = LaunchConfiguration('namespace')
    use_sim_time = LaunchConfiguration('use_sim_time')
    params_file = LaunchConfiguration('params_file')
    model_path = LaunchConfiguration('model_path')
    log_level = LaunchConfiguration('log_level')
    return LaunchDescription([
        *common_arguments(),
        DeclareLaunchArgument('params_file',
                              default_value=os.path.join(config_dir, 'detector.yaml'),
                              description='Full path to the detector parameter file'),
        DeclareLaunchArgument('model_path', default_value='nanorover_det_fp32.onnx',
                              description='Model file (.onnx, .engine/.plan, .pb); relative paths '
                                          'are looked up in $NANOROVER_MODELS and the models dir'),
        Node(
            package='nanorover_perception',
            executable='detector_node',
            name='detector_node',
            namespace=namespace,
            output='screen',
            parameters=[params_file, {'use_sim_time': use_sim_time, 'model_path': model_path}],
            arguments=['--ros-args', '--log-level', log_level],
            remappings=[('camera/image_raw', 'camera/image_raw')],
        ),
    ])
