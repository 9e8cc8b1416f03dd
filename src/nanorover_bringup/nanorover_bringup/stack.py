"""THE process table of the simulated stack, read by `nanorover sim` and launch/sim.launch.py.

Each row is one node process (package, executable, the param files from config/, parameter overrides
taken from launch arguments, whether it runs on sim time, whether it is required, and the launch
argument that switches it on). `nanorover sim` turns the rows into command lines
(``<exe> --ros-args --params-file config/x.yaml -p k:=v``); the launch file turns them into
launch_ros ``Node`` actions with the same files and overrides.

Kept importable on Python 3.6 (the launch file runs on the robot's Humble build).
"""
import os


class LaunchArg(object):
    """A launch argument (also the CLI's knob): name, default, description, python type."""

    __slots__ = ('name', 'default', 'description', 'type')

    def __init__(self, name, default, description, type_):
        self.name = name
        self.default = default
        self.description = description
        self.type = type_


class NodeSpec(object):
    """One node process of the stack.

    overrides: tuple of (parameter, launch argument name) pairs, the value comes from the argument.
    enabled_by: name of a bool launch argument that switches the node on (None: always on).
    required: the stack cannot run without it (`nanorover sim` refuses to start when missing).
    """

    __slots__ = ('name', 'package', 'executable', 'params_files', 'overrides', 'use_sim_time',
                 'required', 'enabled_by', 'description')

    def __init__(self, name, package, executable, params_files, overrides=(), use_sim_time=True,
                 required=False, enabled_by=None, description=''):
        self.name = name
        self.package = package
        self.executable = executable
        self.params_files = tuple(params_files)
        self.overrides = tuple(overrides)
        self.use_sim_time = use_sim_time
        self.required = required
        self.enabled_by = enabled_by
        self.description = description


LAUNCH_ARGS = (
    LaunchArg('world', 'office', 'simulated world: a name in the sim\'s worlds folder or a path',
              str),
    LaunchArg('seed', 1, 'random seed of the simulator (odometry drift, lidar noise, ...)', int),
    LaunchArg('realtime_factor', 1.0, 'sim speed: sim seconds per wall second', float),
    LaunchArg('lidar_port', '/tmp/nanorover_g4', 'path of the symlink to the sim\'s G4 emulator '
              'pty; the lidar driver opens it as its serial port', str),
    LaunchArg('slam', True, 'start slam_node (map + slam/pose)', bool),
    LaunchArg('navigation', True, 'start navigator_node (cmd_vel from goals or exploration)', bool),
    LaunchArg('explore', True, 'navigator_node explores frontiers on its own', bool),
    LaunchArg('detector', True, 'start detector_node on the sim camera', bool),
    LaunchArg('use_sim_time', True, 'nodes other than the sim run on the sim\'s clock topic', bool),
)

# name, package, executable, param files (config/), overrides, sim time, required, switch
STACK = (
    NodeSpec('sim_node', 'nanorover_sim', 'sim_node', ('sim.yaml',),
             (('world', 'world'), ('seed', 'seed'), ('realtime_factor', 'realtime_factor'),
              ('lidar_port_link', 'lidar_port')),
             use_sim_time=False, required=True,
             description='embedded 2-D simulator: clock, odom, ground truth, camera, G4 emulator'),
    NodeSpec('ydlidar_g4_node', 'ydlidar_g4', 'ydlidar_g4_node', ('ydlidar_g4.yaml',),
             (('port', 'lidar_port'),),
             description='the real G4 driver, reading the emulator\'s pty'),
    NodeSpec('slam_node', 'nanorover_navigation', 'slam_node', ('slam.yaml',),
             enabled_by='slam', description='2-D SLAM: map, slam/pose'),
    NodeSpec('navigator_node', 'nanorover_navigation', 'navigator_node', ('navigator.yaml',),
             (('explore', 'explore'),), enabled_by='navigation',
             description='planner/controller, frontier exploration'),
    NodeSpec('detector_node', 'nanorover_perception', 'detector_node', ('detector.yaml',),
             enabled_by='detector', description='object detector on camera/image_raw'),
)

#: the node that waits for the sim's pty link before it starts
WAITS_FOR_LIDAR_PORT = 'ydlidar_g4_node'


def default_args():
    return dict((a.name, a.default) for a in LAUNCH_ARGS)


def format_value(value):
    """A python value as a `-p name:=value` string that rcl's YAML parsing reads back typed."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float):
        return repr(value)  # always has '.' or 'e': stays a double
    return str(value)


def params_file_paths(spec, config_dir):
    """The spec's param files that exist in ``config_dir`` (missing ones are simply not passed)."""
    return [os.path.join(config_dir, f) for f in spec.params_files
            if os.path.isfile(os.path.join(config_dir, f))]


def ros_args(spec, values, config_dir):
    """The ``--ros-args ...`` list of one node: param files, overrides, use_sim_time, node name."""
    out = ['--ros-args', '-r', '__node:=' + spec.name]
    for path in params_file_paths(spec, config_dir):
        out += ['--params-file', path]
    for param, arg in spec.overrides:
        out += ['-p', '%s:=%s' % (param, format_value(values[arg]))]
    if spec.use_sim_time:
        out += ['-p', 'use_sim_time:=' + format_value(bool(values.get('use_sim_time', True)))]
    return out


def enabled(spec, values):
    return spec.enabled_by is None or bool(values[spec.enabled_by])
