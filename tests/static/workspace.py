"""What this workspace provides (packages, executables, config files) and an AST check of launch files.

Used by tests/static and tests/launch. Nothing here imports launch / launch_ros (not on the pip
path): launch files are read as Python syntax trees.
"""
import ast
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAUNCH_DIR = REPO / 'launch'
CONFIG_DIR = REPO / 'config'

# Packages from ROS distributions that our launch files may name, with the executables we use.
# Listed explicitly so that a typo is an error, not an "external package".
EXTERNAL_PACKAGES = {
    'slam_toolbox': {'async_slam_toolbox_node', 'sync_slam_toolbox_node',
                     'localization_slam_toolbox_node'},
    'nav2_bringup': set(),
    'nav2_map_server': {'map_server', 'map_saver_server', 'map_saver_cli'},
    'nav2_amcl': {'amcl'},
    'nav2_lifecycle_manager': {'lifecycle_manager'},
    'nav2_controller': {'controller_server'},
    'nav2_planner': {'planner_server'},
    'nav2_behaviors': {'behavior_server'},
    'nav2_bt_navigator': {'bt_navigator'},
    'nav2_smoother': {'smoother_server'},
    'nav2_velocity_smoother': {'velocity_smoother'},
    'nav2_waypoint_follower': {'waypoint_follower'},
    'nav2_collision_monitor': {'collision_monitor'},
    'robot_state_publisher': {'robot_state_publisher'},
    'joint_state_publisher': {'joint_state_publisher'},
    'ros_gz_sim': {'create'},
    'ros_gz_bridge': {'parameter_bridge'},
    'rviz2': {'rviz2'},
    'tf2_ros': {'static_transform_publisher'},
    'xacro': set(),
}
# files of external packages that our launch files name: basename -> package
EXTERNAL_FILES = {
    'gz_sim.launch.py': 'ros_gz_sim',
    'localization_launch.py': 'nav2_bringup',
    'navigation_launch.py': 'nav2_bringup',
    'bringup_launch.py': 'nav2_bringup',
    'slam_launch.py': 'nav2_bringup',
    'nav2_params.yaml': 'nav2_bringup',
    'online_async_launch.py': 'slam_toolbox',
    'mapper_params_online_async.yaml': 'slam_toolbox',
}
NODE_CALLS = ('Node', 'LifecycleNode')
SHARE_CALLS = ('get_package_share_directory', 'get_package_prefix', 'FindPackageShare',
               'FindPackagePrefix')


def workspace_packages():
    """{package name: package dir} of src/*/package.xml."""
    pkgs = {}
    for xml in sorted((REPO / 'src').glob('*/package.xml')):
        name = ET.parse(str(xml)).getroot().findtext('name')
        pkgs[name] = xml.parent
    return pkgs


def console_scripts(setup_py):
    """Executable names of the console_scripts entry points of a setup.py (read by AST)."""
    if not setup_py.exists():
        return set()
    tree = ast.parse(setup_py.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if (isinstance(key, ast.Constant) and key.value == 'console_scripts'
                        and isinstance(value, (ast.List, ast.Tuple))):
                    for elt in value.elts:
                        if isinstance(elt, ast.Constant):
                            names.add(elt.value.split('=')[0].strip())
    return names


def executables():
    """{package: set of executables} for workspace + known external packages."""
    exes = dict((k, set(v)) for k, v in EXTERNAL_PACKAGES.items())
    for name, pkg_dir in workspace_packages().items():
        exes[name] = console_scripts(pkg_dir / 'setup.py')
    return exes


def _workspace_module(module):
    """Source file of a module of a workspace Python package (None: not ours)."""
    parts = module.split('.')
    if len(parts) < 2:
        return None
    path = REPO / 'src' / parts[0] / parts[0] / ('/'.join(parts[1:]) + '.py')
    return path if path.exists() else None


def _call_name(call):
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _const_str(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(call, name):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


class LaunchFileInfo(object):
    """Facts read from one launch file's syntax tree."""

    def __init__(self, path):
        self.path = Path(path)
        self.tree = ast.parse(self.path.read_text(), str(self.path))
        self.nodes = []              # (package, executable) literals or None
        self.unresolved_nodes = 0    # Node(...) with non-literal package/executable
        self.packages = set()        # named via get_package_share_directory & co
        self.declared = {}           # argument -> description (None when missing)
        self.used_configs = set()    # LaunchConfiguration('x') literals
        self.file_names = set()      # literals naming launch/config/urdf files
        self.has_generate = False
        self.unresolved_args = 0     # DeclareLaunchArgument(<expression>, ...)
        self.uses_stack = False      # data-driven from nanorover_bringup.stack
        self.helpers = []            # workspace modules the file imports (launch helpers)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef) and node.name == 'generate_launch_description':
                self.has_generate = True
            if (isinstance(node, ast.ImportFrom) and node.module == 'nanorover_bringup'
                    and any(a.name == 'stack' for a in node.names)):
                self.uses_stack = True
            if isinstance(node, ast.ImportFrom) and node.module:
                helper = _workspace_module(node.module)
                if helper is not None:
                    self.helpers.append(helper)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                s = node.value
                if re.match(r'^[\w.-]+(\.launch\.py|_launch\.py|\.ya?ml|\.xacro|\.urdf|\.onnx)$', s):
                    self.file_names.add(s)
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name in NODE_CALLS:
                pkg = _const_str(_kw(node, 'package'))
                exe = _const_str(_kw(node, 'executable'))
                if pkg is None or exe is None:
                    self.unresolved_nodes += 1
                else:
                    self.nodes.append((pkg, exe))
            elif name in SHARE_CALLS and node.args:
                pkg = _const_str(node.args[0])
                if pkg is not None:
                    self.packages.add(pkg)
            elif name == 'DeclareLaunchArgument' and node.args:
                arg = _const_str(node.args[0])
                desc = _kw(node, 'description')
                if arg is None:
                    self.unresolved_args += 1
                else:
                    self.declared[arg] = _const_str(desc) if desc is not None else None
            elif name == 'LaunchConfiguration' and node.args:
                arg = _const_str(node.args[0])
                if arg is not None:
                    self.used_configs.add(arg)
        for helper in self.helpers:
            # arguments, nodes and files of an imported helper count as the file's own
            other = LaunchFileInfo(helper)
            self.declared.update(other.declared)
            self.used_configs |= other.used_configs
            self.file_names |= other.file_names
            self.nodes += other.nodes
            self.packages |= other.packages
            self.unresolved_nodes += other.unresolved_nodes
            self.unresolved_args += other.unresolved_args


def _add_stack_tables(info):
    """A launch file built from nanorover_bringup.stack: take its rows as the file's facts."""
    from nanorover_bringup import stack
    for arg in stack.LAUNCH_ARGS:
        info.declared[arg.name] = arg.description
    for spec in stack.STACK:
        info.nodes.append((spec.package, spec.executable))
        info.file_names.update(spec.params_files)
        info.used_configs.update(a for _, a in spec.overrides)
        if spec.enabled_by:
            info.used_configs.add(spec.enabled_by)
    info.unresolved_nodes = max(0, info.unresolved_nodes - 1)     # the one Node(spec...) call
    info.unresolved_args = max(0, info.unresolved_args - 1)       # DeclareLaunchArgument(arg...)


def find_file(name):
    """Where a file named in a launch file lives in this workspace (None: nowhere)."""
    candidates = [LAUNCH_DIR / name, CONFIG_DIR / name, REPO / 'models' / name]
    candidates += list((REPO / 'src').glob('*/urdf/' + name))
    candidates += list((REPO / 'src').glob('*/worlds/' + name))
    for c in candidates:
        if c.exists():
            return c
    return None


def check_launch_file(path, exes=None):
    """List of problems of one launch file (empty = fine)."""
    exes = executables() if exes is None else exes
    problems = []
    try:
        info = LaunchFileInfo(path)
    except SyntaxError as exc:
        return ['%s: does not parse: %s' % (Path(path).name, exc)]
    where = Path(path).name
    if info.uses_stack:
        _add_stack_tables(info)
    if info.unresolved_nodes or info.unresolved_args:
        problems.append('%s: %d Node(...) / %d DeclareLaunchArgument(...) with names this check '
                        'cannot read' % (where, info.unresolved_nodes, info.unresolved_args))
    if not info.has_generate:
        problems.append('%s: no generate_launch_description()' % where)
    for pkg, exe in info.nodes:
        if pkg not in exes:
            problems.append('%s: unknown package %r (not in src/ nor the external list)'
                            % (where, pkg))
        elif exe not in exes[pkg]:
            problems.append('%s: package %s has no executable %r (has: %s)'
                            % (where, pkg, exe, ', '.join(sorted(exes[pkg])) or 'none'))
    for pkg in info.packages:
        if pkg not in exes:
            problems.append('%s: unknown package %r' % (where, pkg))
    for fname in sorted(info.file_names):
        if fname in EXTERNAL_FILES:
            if EXTERNAL_FILES[fname] not in info.packages:
                problems.append('%s: %s belongs to %s, which the file never locates'
                                % (where, fname, EXTERNAL_FILES[fname]))
            continue
        if find_file(fname) is None:
            problems.append('%s: names %s, which is not in launch/, config/ or a package'
                            % (where, fname))
    for arg, desc in sorted(info.declared.items(), key=lambda kv: str(kv[0])):
        if not desc:
            problems.append('%s: launch argument %r has no description' % (where, arg))
    undeclared = info.used_configs - set(info.declared)
    if undeclared:
        problems.append('%s: LaunchConfiguration of undeclared argument(s) %s'
                        % (where, ', '.join(sorted(undeclared))))
    return problems


def launch_files():
    return sorted(LAUNCH_DIR.glob('*.launch.py'))
