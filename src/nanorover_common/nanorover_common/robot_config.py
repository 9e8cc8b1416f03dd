"""config/robot.yaml — the one source of the robot's geometry and limits — found and loaded.

Search order for a config file: an explicit path; ``$NANOROVER_CONFIG`` (a directory); the
installed ``share/nanorover_bringup/config``; the source tree's top-level ``config/``.
"""
import os

from nanorover_common.yamlfile import load_yaml


class ConfigError(ValueError):
    """A config file is missing, unreadable or lacks a value; the message says which."""


def _candidate_dirs():
    env = os.environ.get('NANOROVER_CONFIG')
    if env:
        yield env
    try:
        from ament_index_python.packages import get_package_share_directory
        try:
            yield os.path.join(get_package_share_directory('nanorover_bringup'), 'config')
        except Exception:  # PackageNotFoundError, or no AMENT_PREFIX_PATH at all
            pass
    except ImportError:
        pass
    here = os.path.dirname(os.path.realpath(__file__))
    # src/nanorover_common/nanorover_common/robot_config.py -> <repo>/config
    yield os.path.join(here, '..', '..', '..', 'config')


def find_config(name, explicit=''):
    """Path of config file ``name`` (``explicit`` wins and must exist)."""
    if explicit:
        if os.path.isfile(explicit):
            return explicit
        raise ConfigError('config file %r not found' % (explicit,))
    for d in _candidate_dirs():
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return os.path.normpath(p)
    raise ConfigError('config file %s not found (set $NANOROVER_CONFIG to the config directory '
                      'or give the path)' % name)


def _lookup(cfg, dotted):
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def load_robot_config(path='', required=(), positive=()):
    """robot.yaml as a dict (sections robot, lidar, camera).

    ``required``: dotted keys (``'lidar.x'``) that must be numbers; ``positive``: dotted keys that
    must be numbers > 0. Raises ConfigError naming the file and the key.
    """
    try:
        path = find_config('robot.yaml', path or '')
    except ConfigError as exc:
        raise ConfigError('robot config: %s' % exc)
    cfg = load_yaml(path, ConfigError, 'robot config')
    if not isinstance(cfg, dict) or not isinstance(cfg.get('robot'), dict):
        raise ConfigError('%s has no "robot" section' % path)
    for key in tuple(required) + tuple(positive):
        value = _lookup(cfg, key)
        if value is None:
            raise ConfigError('%s: %s missing' % (path, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError('%s: %s must be a number, got %r' % (path, key, value))
        if key in positive and value <= 0:
            raise ConfigError('%s: %s must be a positive number, got %r' % (path, key, value))
    return cfg
