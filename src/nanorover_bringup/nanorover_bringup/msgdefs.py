"""ROS 2 message definitions in the concatenated text form rosbag2 / Foxglove store in MCAP schemas.

``msgdef_text('sensor_msgs/msg/LaserScan')`` = the .msg file of the type, then for every type it
depends on (recursively, each once): a line of 80 '=' characters, ``MSG: pkg/Type`` and that type's
.msg file. The .msg files come from each package's share directory (``share/<pkg>/msg/<Type>.msg``,
installed by every ROS interface package; found through the ament index).

ROS-free: only the ament index is used to locate files; a custom ``finder`` can be given.
"""
import os
import re

PRIMITIVES = frozenset((
    'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32',
    'uint32', 'int64', 'uint64', 'string', 'wstring',
))

_SEPARATOR = '=' * 80


class MsgDefError(LookupError):
    """A .msg file of a type (or of one of its dependencies) cannot be found or parsed."""


def split_type(name):
    """'pkg/msg/Type' or 'pkg/Type' -> ('pkg', 'Type')."""
    parts = name.split('/')
    if len(parts) == 3 and parts[1] == 'msg':
        return parts[0], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise MsgDefError('not a message type name: %r' % name)


def ament_msg_file(package, type_name):
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    try:
        share = get_package_share_directory(package)
    except (PackageNotFoundError, ValueError, LookupError) as exc:
        raise MsgDefError('package %s not found (%s)' % (package, exc))
    return os.path.join(share, 'msg', type_name + '.msg')


def field_types(text, package):
    """Complex (non-primitive) field types of a .msg text as 'pkg/Type', in order of appearance."""
    out = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        base = re.sub(r'\[.*\]$', '', parts[0])      # arrays: T[], T[3], T[<=3]
        base = re.sub(r'<=\d+$', '', base)           # bounded strings: string<=10
        rest = parts[1]
        if re.match(r'^[A-Za-z][A-Za-z0-9_]*\s*=', rest):
            continue  # constant: "uint8 IDLE=0" (constants are always primitive anyway)
        if base in PRIMITIVES:
            continue
        if '/' in base:
            pkg, name = split_type(base)
        else:
            pkg, name = package, base
        full = '%s/%s' % (pkg, name)
        if full not in out:
            out.append(full)
    return out


def msgdef_text(datatype, finder=ament_msg_file):
    """Concatenated definition of ``datatype`` ('pkg/msg/Type') with all its dependencies."""
    pkg, name = split_type(datatype)

    def read(p, n):
        path = finder(p, n)
        try:
            with open(path) as f:
                return f.read()
        except (IOError, OSError) as exc:
            raise MsgDefError('definition of %s/%s not readable: %s' % (p, n, exc))

    main = read(pkg, name)
    parts = [main.rstrip('\n')]
    seen = set()
    queue = field_types(main, pkg)
    while queue:
        dep = queue.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        dpkg, dname = split_type(dep)
        text = read(dpkg, dname)
        parts.append('%s\nMSG: %s\n%s' % (_SEPARATOR, dep, text.rstrip('\n')))
        queue.extend(t for t in field_types(text, dpkg) if t not in seen)
    return '\n'.join(parts) + '\n'


def type_name_of(msg_class):
    """rclpy message class -> 'pkg/msg/Type' (e.g. sensor_msgs.msg.LaserScan)."""
    module = msg_class.__module__.split('.')  # sensor_msgs.msg._laser_scan
    return '%s/%s/%s' % (module[0], module[1], msg_class.__name__)
