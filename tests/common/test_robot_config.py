"""nanorover_common.robot_config: search order, required/positive keys, clear errors."""
import pytest

from nanorover_common.robot_config import ConfigError, find_config, load_robot_config


def test_shipped_config_is_found_and_complete():
    cfg = load_robot_config(positive=('robot.wheel_radius', 'robot.wheel_base', 'robot.radius'),
                            required=('lidar.x', 'lidar.yaw', 'camera.horizontal_fov'))
    assert cfg['robot']['wheel_base'] > 0 and 'camera' in cfg


def test_env_dir_wins(tmp_path, monkeypatch):
    (tmp_path / 'robot.yaml').write_text('robot: {radius: 0.5}\n')
    monkeypatch.setenv('NANOROVER_CONFIG', str(tmp_path))
    assert find_config('robot.yaml') == str(tmp_path / 'robot.yaml')
    assert load_robot_config()['robot']['radius'] == 0.5


@pytest.mark.parametrize('text, kwargs, fragment', [
    ('robot: {radius: 0.1}\n', {'required': ('lidar.x',)}, 'lidar.x missing'),
    ('robot: {radius: -1}\n', {'positive': ('robot.radius',)}, 'must be a positive number'),
    ('robot: {radius: fast}\n', {'required': ('robot.radius',)}, 'must be a number'),
    ('lidar: {x: 0}\n', {}, 'no "robot" section'),
    ('robot: [1\n', {}, 'robot config %s is not valid YAML'),
])
def test_bad_configs_are_reported(tmp_path, text, kwargs, fragment):
    path = tmp_path / 'robot.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_robot_config(str(path), **kwargs)
    assert fragment.replace('%s', str(path)) in str(err.value) and str(path) in str(err.value)


def test_explicit_missing_path(tmp_path):
    with pytest.raises(ConfigError, match='not found'):
        load_robot_config(str(tmp_path / 'nope.yaml'))
