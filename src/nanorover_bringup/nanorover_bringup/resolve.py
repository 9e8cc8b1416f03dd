"""Resolve the process table (stack.STACK) for one `nanorover sim` run: what is installed, the
command lines. Dev machine only (the launch file does this with launch_ros on a ROS install)."""
import os

from nanorover_bringup.stack import STACK, enabled, ros_args


def find_executable(spec):
    """Path of the installed console script, or None (package or executable not installed)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:  # pragma: no cover - ament_index is part of every ROS install
        return None
    try:
        prefix = get_package_prefix(spec.package)
    except (PackageNotFoundError, ValueError, LookupError):
        return None
    path = os.path.join(prefix, 'lib', spec.package, spec.executable)
    if not os.access(path, os.X_OK) or not entry_point_importable(spec.executable):
        return None
    return path


def entry_point_importable(executable):
    """False when ``executable`` is a Python console script whose module cannot be found (the
    entry point was declared but its module is not there yet); True otherwise."""
    from importlib import metadata
    from importlib.util import find_spec
    try:
        scripts = metadata.entry_points(group='console_scripts')
    except Exception:  # noqa: BLE001 - broken metadata elsewhere must not hide our nodes
        return True
    for ep in scripts:
        if ep.name == executable:
            module = ep.value.split(':')[0].strip()
            try:
                return find_spec(module) is not None
            except (ImportError, ValueError):
                return False
    return True


class PlannedNode(object):
    """A row of the table resolved for one run: status 'run', 'missing' or 'disabled'."""

    __slots__ = ('spec', 'status', 'cmd', 'reason')

    def __init__(self, spec, status, cmd=None, reason=''):
        self.spec = spec
        self.status = status
        self.cmd = cmd
        self.reason = reason


def plan(values, config_dir, stack=STACK, find=find_executable):
    """Resolve the table for one run: which nodes start (with their command line) and why not."""
    rows = []
    for spec in stack:
        if not enabled(spec, values):
            rows.append(PlannedNode(spec, 'disabled', reason='%s:=false' % spec.enabled_by))
            continue
        exe = find(spec)
        if exe is None:
            rows.append(PlannedNode(spec, 'missing', reason='%s/%s not installed' % (
                spec.package, spec.executable)))
            continue
        rows.append(PlannedNode(spec, 'run', cmd=[exe] + ros_args(spec, values, config_dir)))
    return rows
