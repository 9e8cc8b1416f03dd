"""config/gz_bridge.yaml against what the nanorover nodes publish and subscribe (read from their
sources) and against the gz topics of the URDF's sim_mode systems and sensors."""
import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BRIDGE = yaml.safe_load((REPO / 'config' / 'gz_bridge.yaml').read_text())
# packages whose nodes talk to hardware on the robot; Gazebo replaces exactly those
HARDWARE = {'ydlidar_g4', 'nanorover_base', 'nanorover_perception/camera_node.py'}
# topics consumed by ROS infrastructure rather than our nodes
INFRASTRUCTURE = {'clock': 'rosgraph_msgs/msg/Clock',        # every node with use_sim_time
                  'tf': 'tf2_msgs/msg/TFMessage',            # tf listeners (slam_toolbox, nav2)
                  'joint_states': 'sensor_msgs/msg/JointState'}   # robot_state_publisher


def node_topics(src=REPO / 'src'):
    """[(kind 'pub'|'sub', topic, 'pkg/msg/Type', source path)] of literal create_publisher /
    create_subscription calls in the packages' Python sources (tests and tools excluded)."""
    found = []
    for path in sorted(src.glob('*/*/**/*.py')):
        rel = path.relative_to(src).as_posix()
        if '/test' in rel or '/training/' in rel:
            continue
        tree = ast.parse(path.read_text())
        types = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith('.msg'):
                for a in node.names:
                    types[a.asname or a.name] = '%s/msg/%s' % (node.module.split('.')[0], a.name)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ('create_publisher', 'create_subscription')
                    and len(node.args) >= 2):
                continue
            t, topic = node.args[0], node.args[1]
            if not (isinstance(t, ast.Name) and t.id in types and isinstance(topic, ast.Constant)):
                continue
            kind = 'pub' if node.func.attr == 'create_publisher' else 'sub'
            found.append((kind, topic.value, types[t.id], rel))
    return found


TOPICS = node_topics()


def _is_hardware(rel):
    return any(rel.startswith(h + '/') or rel.endswith('/' + h) for h in HARDWARE)


def test_sources_were_read():
    """The scan above finds the nodes of the system map (guards against a silent empty scan)."""
    kinds = {(k, t) for k, t, _, _ in TOPICS}
    assert {('pub', 'scan'), ('pub', 'odom'), ('sub', 'cmd_vel'), ('sub', 'scan'),
            ('pub', 'camera/image_raw'), ('sub', 'camera/image_raw')} <= kinds


def test_bridge_entries_are_well_formed():
    for e in BRIDGE:
        assert set(e) >= {'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name',
                          'direction'}, e
        assert e['direction'] in ('GZ_TO_ROS', 'ROS_TO_GZ', 'BIDIRECTIONAL')
        assert not e['ros_topic_name'].startswith('/'), 'relative ROS names (namespaces)'
        assert e['gz_type_name'].startswith('gz.msgs.')
        assert e['ros_type_name'].count('/msg/') == 1


def entry_problems(entry, topics=TOPICS):
    """Why one bridge entry disagrees with our nodes (empty list: it agrees)."""
    topic, rtype = entry['ros_topic_name'], entry['ros_type_name']
    users = [(k, ty, rel) for k, t, ty, rel in topics if t == topic]
    problems = []
    wrong = [(k, ty, rel) for k, ty, rel in users if ty != rtype]
    if wrong:
        problems.append('%s bridged as %s but used as %s' % (topic, rtype, wrong))
    if entry['direction'] == 'GZ_TO_ROS':
        if not any(u[0] == 'sub' for u in users) and INFRASTRUCTURE.get(topic) != rtype:
            problems.append('%s: bridged from gz but nothing consumes it' % topic)
    else:
        if not any(k == 'pub' for k, _, _ in users):
            problems.append('%s: no node of ours publishes it' % topic)
        if not any(k == 'sub' and _is_hardware(rel) for k, _, rel in users):
            problems.append('%s: no robot driver consumes it' % topic)
    return problems


@pytest.mark.parametrize('entry', BRIDGE, ids=lambda e: e['ros_topic_name'])
def test_bridged_types_match_our_nodes(entry):
    problems = entry_problems(entry)
    assert not problems, '\n'.join(problems)


def test_every_hardware_topic_the_stack_needs_is_bridged():
    """Gazebo must stand in for every driver topic our nodes consume, and take every command
    our nodes send to a driver."""
    hw_pub = {(t, ty) for k, t, ty, rel in TOPICS if k == 'pub' and _is_hardware(rel)}
    hw_sub = {(t, ty) for k, t, ty, rel in TOPICS if k == 'sub' and _is_hardware(rel)}
    consumed = {(t, ty) for k, t, ty, rel in TOPICS if k == 'sub' and not _is_hardware(rel)}
    produced = {(t, ty) for k, t, ty, rel in TOPICS if k == 'pub' and not _is_hardware(rel)}
    to_ros = {(e['ros_topic_name'], e['ros_type_name']) for e in BRIDGE
              if e['direction'] != 'ROS_TO_GZ'}
    to_gz = {(e['ros_topic_name'], e['ros_type_name']) for e in BRIDGE
             if e['direction'] != 'GZ_TO_ROS'}
    assert (hw_pub & consumed) - to_ros == set()
    assert (hw_sub & produced) - to_gz == set()
    assert {'scan', 'odom', 'camera/image_raw', 'camera/camera_info'} <= {t for t, _ in to_ros}
    assert {t for t, _ in to_ros} >= set(INFRASTRUCTURE)


def test_gz_topics_are_those_of_the_urdf_systems_and_sensors():
    import xacro
    doc = xacro.process_file(
        str(REPO / 'src' / 'nanorover_description' / 'urdf' / 'nanorover.urdf.xacro'),
        mappings={'robot_config': str(REPO / 'config' / 'robot.yaml'), 'sim_mode': 'true'})
    root = ET.fromstring(doc.toxml())
    plugins = dict((p.get('filename'), p) for p in root.iter('plugin'))
    sensors = dict((s.get('name'), s) for s in root.iter('sensor'))
    dd = plugins['gz-sim-diff-drive-system']
    produced = {
        'cmd_vel': dd.findtext('topic'), 'odom': dd.findtext('odom_topic'),
        'tf': dd.findtext('tf_topic'),
        'joint_states': plugins['gz-sim-joint-state-publisher-system'].findtext('topic'),
        'scan': sensors['g4'].findtext('topic'),
        'camera/image_raw': sensors['camera'].findtext('topic'),
        'camera/camera_info': sensors['camera'].findtext('camera/camera_info_topic'),
        'clock': '/clock',
    }
    bridged = dict((e['ros_topic_name'], e['gz_topic_name']) for e in BRIDGE)
    assert bridged == produced


def test_bridge_check_catches_mistakes():
    """The check above can fail: wrong type, unused topic, command nobody executes."""
    odom = dict(next(e for e in BRIDGE if e['ros_topic_name'] == 'odom'))
    odom['ros_type_name'] = 'geometry_msgs/msg/Twist'
    assert 'bridged as geometry_msgs/msg/Twist' in entry_problems(odom)[0]
    unused = dict(odom, ros_topic_name='odometry', ros_type_name='nav_msgs/msg/Odometry')
    assert 'nothing consumes it' in entry_problems(unused)[0]
    cmd = dict(next(e for e in BRIDGE if e['ros_topic_name'] == 'cmd_vel'),
               ros_topic_name='cmd_vel_smoothed')
    assert len(entry_problems(cmd)) == 2
