"""Reading a YAML file with one clear error (the file's role, its path, the cause)."""
import yaml


def load_yaml(path, error, what):
    """Parse the YAML file ``path``; unreadable or malformed -> ``error`` naming ``what`` + path."""
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except (IOError, OSError) as exc:
        raise error('cannot read %s %s: %s' % (what, path, exc))
    except yaml.YAMLError as exc:
        raise error('%s %s is not valid YAML: %s' % (what, path, exc))
