"""Shared fixtures: one rclpy Context per test, condition waits, node processes.

ROS tests talk over real DDS on loopback only (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in the
domain the Makefile picked for this run (ROS_DOMAIN_ID).
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tests'))

os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(os.getpid() % 100 + 1))
if os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] != 'LOCALHOST':
    raise RuntimeError('tests must run with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST')


def wait_for(predicate, timeout=10.0, what='condition', interval=0.01):
    """Poll ``predicate`` until it returns a truthy value (returned) or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


def spin_until(executor, predicate, timeout=10.0, what='condition'):
    """Spin ``executor`` until ``predicate()`` is truthy; fail after ``timeout`` s."""
    def spin_and_check():
        value = predicate()
        if not value:
            executor.spin_once(timeout_sec=0.02)
        return value
    return wait_for(spin_and_check, timeout, what, interval=0.0)


@pytest.fixture
def ros_context():
    import rclpy
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=int(os.environ['ROS_DOMAIN_ID']))
    try:
        yield ctx
    finally:
        if ctx.ok():
            rclpy.shutdown(context=ctx)


@pytest.fixture
def executor(ros_context):
    from rclpy.executors import SingleThreadedExecutor
    ex = SingleThreadedExecutor(context=ros_context)
    try:
        yield ex
    finally:
        ex.shutdown()


# A node outlives a pytest that was killed (no fixture teardown) and goes on reopening its port
# path, e.g. /dev/pts/0, which the next run's emulator gets: it then reads and writes that pty too.
# setpriv (util-linux) makes the kernel SIGKILL the node when pytest dies.
_DIE_WITH_PYTEST = ['setpriv', '--pdeathsig', 'KILL', '--'] if shutil.which('setpriv') else []


class NodeProcess(object):
    """A node started as its own process, as ``ros2 run`` / a launch file would start it."""

    def __init__(self, cmd, log_path, env=None):
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(str(log_path), 'w+')
        self.proc = subprocess.Popen(_DIE_WITH_PYTEST + list(cmd), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)

    def output(self):
        if not self._log.closed:
            self._log.flush()
        with open(str(self.log_path)) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGINT (clean shutdown path), then SIGKILL; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def stop_expect(self, code=0):
        """stop(), and fail with the node's own output when it exits with another code."""
        rc = self.stop()
        assert rc == code, '%s exited with %s, expected %s; its output:\n%s' % (
            os.path.basename(self.cmd[0]), rc, code, self.output()[-6000:])


def executable(package, name):
    """Path of an installed console script (install/<pkg>/lib/<pkg>/<name>)."""
    from ament_index_python.packages import get_package_prefix
    path = Path(get_package_prefix(package)) / 'lib' / package / name
    if not path.exists():
        raise FileNotFoundError('%s not installed: run make build' % path)
    return str(path)


@pytest.fixture
def start_node(tmp_path):
    """Factory: start_node(package, executable, params={}, remap={}, extra=[]) -> NodeProcess."""
    started = []

    def _start(package, name, params=None, remap=None, extra=None, env=None, params_file=None):
        cmd = [executable(package, name)] + list(extra or []) + ['--ros-args']
        if params_file:
            cmd += ['--params-file', str(params_file)]
        for k, v in (params or {}).items():
            if isinstance(v, bool):
                v = 'true' if v else 'false'
            cmd += ['-p', '%s:=%s' % (k, v)]
        for k, v in (remap or {}).items():
            cmd += ['-r', '%s:=%s' % (k, v)]
        log = tmp_path / ('%s_%d.log' % (name, len(started)))
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = NodeProcess(cmd, log, env=full_env)
        started.append(p)
        return p

    yield _start
    for p in started:
        p.stop()


def launch_arguments(path):
    """{name: {keyword: ast node}} of the DeclareLaunchArgument calls of a launch file, including
    those of the functions it imports from nanorover_description.launch_common."""
    import ast

    def calls(tree):
        out = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == \
                    'DeclareLaunchArgument':
                out[node.args[0].value] = {k.arg: k.value for k in node.keywords}
        return out

    tree = ast.parse(Path(path).read_text())
    found = calls(tree)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == \
                'nanorover_description.launch_common':
            imported.update(a.name for a in node.names)
    if imported:
        helper = ast.parse((REPO / 'src' / 'nanorover_description' / 'nanorover_description' /
                            'launch_common.py').read_text())
        for fn in helper.body:
            if isinstance(fn, ast.FunctionDef) and fn.name in imported:
                found.update(calls(fn))
    return found
