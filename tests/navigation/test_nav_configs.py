"""config/navigator.yaml and config/nav2.yaml agree with the node and with config/robot.yaml."""
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def load(name):
    return yaml.safe_load((REPO / 'config' / name).read_text())


def test_navigator_yaml_sets_only_declared_parameters_with_valid_values():
    from nanorover_navigation.navigator_node import SPECS
    params = load('navigator.yaml')['/**']['ros__parameters']
    specs = {s.name: s for s in SPECS}
    unknown = set(params) - set(specs)
    assert not unknown, unknown
    for name, value in params.items():
        spec = specs[name]
        assert type(value) is type(spec.default), (name, value, spec.default)
        assert spec.check(value) is None, spec.check(value)
    # the file documents every tunable of the node
    assert set(specs) - set(params) <= {'use_sim_time'}, set(specs) - set(params)


def test_nav2_yaml_matches_the_robot():
    robot = load('robot.yaml')['robot']
    nav2 = load('nav2.yaml')
    for cm in ('local_costmap', 'global_costmap'):
        p = nav2[cm][cm]['ros__parameters']
        assert p['robot_radius'] == robot['radius']
        assert p['resolution'] == 0.05
        assert p['robot_base_frame'] == 'base_footprint'
        assert p['inflation_layer']['cost_scaling_factor'] == 3.0
        assert 0.45 <= p['inflation_layer']['inflation_radius'] <= 0.7
        assert p['obstacle_layer']['scan']['topic'] == 'scan'
    local = nav2['local_costmap']['local_costmap']['ros__parameters']
    assert local['rolling_window'] and local['width'] == 3 and local['height'] == 3
    assert local['global_frame'] == 'odom'
    glob = nav2['global_costmap']['global_costmap']['ros__parameters']
    assert glob['plugins'] == ['static_layer', 'obstacle_layer', 'inflation_layer']
    assert glob['global_frame'] == 'map'
    ctl = nav2['controller_server']['ros__parameters']
    assert ctl['controller_frequency'] == 20.0
    rpp = ctl['FollowPath']
    assert rpp['plugin'].startswith('nav2_regulated_pure_pursuit_controller')
    assert rpp['desired_linear_vel'] <= robot['max_linear_velocity']
    assert rpp['rotate_to_heading_angular_vel'] <= robot['max_angular_velocity']
    assert rpp['max_angular_accel'] <= robot['max_angular_accel']
    planner = nav2['planner_server']['ros__parameters']['GridBased']
    assert planner['plugin'] == 'nav2_navfn_planner/NavfnPlanner' and planner['tolerance'] == 0.5
    beh = nav2['behavior_server']['ros__parameters']
    assert {'spin', 'backup', 'wait'} <= set(beh['behavior_plugins'])
    vs = nav2['velocity_smoother']['ros__parameters']
    assert vs['max_velocity'] == [robot['max_linear_velocity'], 0.0,
                                  robot['max_angular_velocity']]
    assert vs['max_accel'] == [robot['max_linear_accel'], 0.0, robot['max_angular_accel']]
    amcl = nav2['amcl']['ros__parameters']
    assert (amcl['base_frame_id'], amcl['odom_frame_id'], amcl['global_frame_id']) == \
        ('base_footprint', 'odom', 'map')
    assert amcl['scan_topic'] == 'scan'
    assert 'bt_navigator' in nav2 and 'map_server' in nav2


def test_launch_file_offers_both_navigators_with_described_arguments():
    from conftest import launch_arguments
    src = (REPO / 'launch' / 'navigation.launch.py').read_text()
    declared = launch_arguments(REPO / 'launch' / 'navigation.launch.py')
    for name, kw in declared.items():
        assert 'description' in kw, name
    assert {'use_sim_time', 'navigator', 'nav2_params_file', 'embedded_params_file',
            'explore', 'namespace'} <= set(declared)
    choices = [e.value for e in declared['navigator']['choices'].elts]
    assert choices == ['nav2', 'embedded']
    assert "'navigation_launch.py'" in src and "'navigator_node'" in src
    assert src.count("'use_sim_time'") >= 2
