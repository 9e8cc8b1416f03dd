"""The process supervisor (tiny fake node scripts, independent of the real stack) and the table."""
import os
import re
import signal
import sys
import time

import pytest

from conftest import wait_for
from nanorover_bringup import resolve, stack
from nanorover_bringup.supervisor import NodeDied, Supervisor
from nanorover_bringup.teleop import ScriptedTeleop

FAKE_NODE = r'''
import signal, sys, time
mode = sys.argv[1]
print('fake node starting, mode', mode, flush=True)
if mode == 'die':
    time.sleep(0.3)
    print('[FATAL] invalid parameter: the fake node gives up', flush=True)
    sys.exit(3)
if mode == 'stubborn':
    signal.signal(signal.SIGINT, signal.SIG_IGN)
def bye(*_):
    print('clean shutdown', flush=True)
    sys.exit(0)
if mode != 'stubborn':
    signal.signal(signal.SIGINT, bye)
print('ready', flush=True)
while True:
    time.sleep(0.05)
'''


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / 'fake_node.py'
    script.write_text(FAKE_NODE)
    return lambda mode: [sys.executable, str(script), mode]


def test_dying_node_is_reported_with_its_last_lines(tmp_path, fake):
    sup = Supervisor(tmp_path / 'logs')
    sup.start('good_node', fake('run'))
    sup.start('bad_node', fake('die'))
    try:
        def died():
            try:
                sup.check()
            except NodeDied as exc:
                return exc
            return None
        exc = wait_for(died, 20.0, 'the supervisor to notice bad_node')
        assert exc.name == 'bad_node' and exc.returncode == 3
        text = exc.describe()
        assert 'node bad_node exited with code 3' in text
        assert 'the fake node gives up' in text
        assert sup.get('good_node').alive()
    finally:
        codes = sup.stop_all(10.0)
    assert codes['bad_node'] == 3 and codes['good_node'] == 0
    assert 'clean shutdown' in (tmp_path / 'logs' / 'good_node.log').read_text()
    sup.check()  # stopping: exits of stopped nodes are not deaths


def test_node_ignoring_sigint_is_killed_after_the_timeout(tmp_path, fake):
    sup = Supervisor(tmp_path / 'logs')
    p = sup.start('stubborn_node', fake('stubborn'))
    wait_for(lambda: 'ready' in (tmp_path / 'logs' / 'stubborn_node.log').read_text(), 20.0,
             'the fake node to start')
    t0 = time.monotonic()
    codes = sup.stop_all(1.0)
    assert codes['stubborn_node'] == -signal.SIGKILL and sup.killed == ['stubborn_node']
    assert time.monotonic() - t0 < 8.0
    assert not p.alive()


def test_killed_node_is_named_with_the_signal(tmp_path, fake):
    sup = Supervisor(tmp_path / 'logs')
    p = sup.start('victim', fake('run'))
    wait_for(lambda: 'ready' in (tmp_path / 'logs' / 'victim.log').read_text(), 20.0, 'start')
    os.kill(p.pid, signal.SIGKILL)
    p.popen.wait(10.0)
    with pytest.raises(NodeDied) as info:
        sup.check()
    assert 'victim was killed by SIGKILL' in info.value.describe()
    sup.stop_all(1.0)


def test_plan_builds_ros_args_from_the_table(tmp_path):
    (tmp_path / 'sim.yaml').write_text('/**:\n  ros__parameters:\n    seed: 1\n')
    values = stack.default_args()
    values.update(world='hall', seed=7, realtime_factor=2.0, lidar_port='/tmp/x/g4',
                  detector=False)
    installed = {'sim_node', 'ydlidar_g4_node', 'slam_node', 'detector_node'}
    rows = resolve.plan(values, str(tmp_path),
                      find=lambda s: '/bin/' + s.executable if s.name in installed else None)
    status = dict((r.spec.name, r.status) for r in rows)
    assert status == {'sim_node': 'run', 'ydlidar_g4_node': 'run', 'slam_node': 'run',
                      'navigator_node': 'missing', 'detector_node': 'disabled'}
    sim = rows[0].cmd
    assert sim[:2] == ['/bin/sim_node', '--ros-args']
    assert sim[sim.index('--params-file') + 1] == str(tmp_path / 'sim.yaml')
    for p in ('world:=hall', 'seed:=7', 'realtime_factor:=2.0', 'lidar_port_link:=/tmp/x/g4'):
        assert sim[sim.index(p) - 1] == '-p'
    assert 'use_sim_time:=true' not in sim  # the sim owns the clock
    lidar = rows[1].cmd
    assert 'port:=/tmp/x/g4' in lidar and 'use_sim_time:=true' in lidar
    assert '--params-file' not in lidar  # ydlidar_g4.yaml does not exist in this config dir
    assert stack.format_value(1.0) == '1.0' and stack.format_value(False) == 'false'


def test_teleop_turns_away_from_an_obstacle_ahead():
    tel = ScriptedTeleop(segments=((0.25, 0.0, 5.0),), stop_distance=0.45)
    n = 360
    amin, inc = -3.14159, 2 * 3.14159 / n
    free = [5.0] * n
    assert tel.command(1.0, (free, amin, inc)) == (0.25, 0.0)
    blocked = list(free)
    for i in range(n):
        a = amin + i * inc
        if abs(a) < 0.4:
            blocked[i] = 0.3          # wall ahead
        if -2.0 < a < -0.5:
            blocked[i] = 0.5          # and close on the right: turn left
    v, w = tel.command(1.1, (blocked, amin, inc))
    assert v == 0.0 and w > 0
    assert tel.command(1.2, (free, amin, inc)) == (0.25, 0.0)


def test_missing_sim_node_exits_2_and_still_writes_the_summary(tmp_path, monkeypatch, capsys):
    import json
    from nanorover_bringup import sim_job
    real_plan = resolve.plan
    monkeypatch.setattr(resolve, 'plan', lambda values, cfg: real_plan(
        values, cfg, find=lambda s: None if s.name in ('sim_node', 'slam_node') else '/bin/x'))
    code = sim_job.main(['--duration', '5', '--out', str(tmp_path / 'run'), '--no-detector'])
    err = capsys.readouterr().err
    assert code == 2
    assert 'required node(s) not installed: sim_node' in err
    assert re.search(r'slam_node\s+missing', err) and re.search(r'detector_node\s+disabled', err)
    s = json.loads((tmp_path / 'run' / 'summary.json').read_text())
    assert s['exit_code'] == 2 and sorted(s['nodes_missing']) == ['sim_node', 'slam_node']
    assert s['nodes_disabled'] == {'detector_node': 'detector:=false'}


def test_run_folder_is_written_before_the_dds_participant_goes(tmp_path, monkeypatch):
    """A crash in the middleware's teardown must not cost the run folder: summary.json is on
    disk when the recorder's context is shut down, and the signal handlers are put back."""
    import os
    import signal

    import rclpy
    from nanorover_bringup import sim_job

    seen = {}
    before = signal.getsignal(signal.SIGTERM)

    def fake_stack(self, rows, env, meta):
        ctx = rclpy.Context()
        rclpy.init(context=ctx, domain_id=int(os.environ['ROS_DOMAIN_ID']))
        node = rclpy.create_node('order_check', context=ctx)
        self._ros = (ctx, node, None)
        self._old_handlers = {signal.SIGTERM: signal.signal(signal.SIGTERM, self._on_signal)}
        meta['topic_counts'] = {}

    real_try_shutdown = rclpy.try_shutdown

    def watching_try_shutdown(context=None):
        seen['summary_on_disk'] = (tmp_path / 'run' / 'summary.json').exists()
        seen['handler_then'] = signal.getsignal(signal.SIGTERM)
        return real_try_shutdown(context=context)

    monkeypatch.setattr(sim_job.SimJob, '_run_stack', fake_stack)
    monkeypatch.setattr(rclpy, 'try_shutdown', watching_try_shutdown)
    code = sim_job.main(['--duration', '1', '--out', str(tmp_path / 'run'), '--no-detector'])
    assert code == 0
    assert seen['summary_on_disk'] is True
    assert seen['handler_then'] != before          # still the job's own handler while writing
    assert signal.getsignal(signal.SIGTERM) == before
