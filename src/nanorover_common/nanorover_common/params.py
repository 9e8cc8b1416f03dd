"""Declared parameters with descriptors, ranges and choices; bad values are rejected with the reason.

Usage::

    SPECS = [
        Param('frequency', 10.0, 'scan frequency [Hz]', range=(5.0, 12.0)),
        Param('sample_rate', 9, 'sample rate [kHz]', choices=(4, 8, 9), read_only=True),
        Param('port', '/dev/ydlidar', 'serial device'),
    ]
    self.params = declare_parameters(self, SPECS, on_change=self._on_params)

Start-up values out of range raise StartupError (the node's main() logs it and exits 1); later
``ros2 param set`` calls get ``successful=False`` with the same reason.
"""
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.exceptions import (InvalidParameterTypeException, InvalidParameterValueException,
                              ParameterException)
from rclpy.parameter import Parameter

from nanorover_common.node import StartupError

_TYPES = {bool: Parameter.Type.BOOL, int: Parameter.Type.INTEGER, float: Parameter.Type.DOUBLE,
          str: Parameter.Type.STRING}


class Param(object):
    """One parameter: name, default (its type is the parameter's type), description, constraints."""

    __slots__ = ('name', 'default', 'description', 'range', 'choices', 'read_only', 'validator',
                 'ptype')

    def __init__(self, name, default, description, range=None, choices=None, read_only=False,
                 validator=None, ptype=None):
        self.name = name
        self.default = default
        self.description = description
        self.range = range
        self.choices = tuple(choices) if choices is not None else None
        self.read_only = read_only
        self.validator = validator  # callable(value) -> None or a reason string
        if ptype is None:
            if isinstance(default, (list, tuple)):
                raise ValueError('%s: give ptype for array parameters' % name)
            ptype = _TYPES[type(default)]
        self.ptype = ptype

    def constraints_text(self):
        parts = []
        if self.range is not None:
            parts.append('range [%s, %s]' % self.range)
        if self.choices is not None:
            parts.append('one of %s' % ', '.join(repr(c) for c in self.choices))
        return '; '.join(parts)

    def descriptor(self):
        d = ParameterDescriptor(name=self.name, type=self.ptype.value,
                                description=self.description, read_only=self.read_only,
                                additional_constraints=self.constraints_text())
        if self.range is not None:
            lo, hi = self.range
            if self.ptype == Parameter.Type.INTEGER:
                d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=0)]
            else:
                d.floating_point_range = [FloatingPointRange(from_value=float(lo),
                                                             to_value=float(hi), step=0.0)]
        return d

    def check(self, value):
        """None when ``value`` is acceptable, else the reason it is not."""
        if self.range is not None:
            lo, hi = self.range
            if not (lo <= value <= hi):
                return '%s=%r is outside [%s, %s] (%s)' % (self.name, value, lo, hi,
                                                           self.description)
        if self.choices is not None and value not in self.choices:
            return '%s=%r is not one of %s (%s)' % (
                self.name, value, ', '.join(repr(c) for c in self.choices), self.description)
        if self.validator is not None:
            reason = self.validator(value)
            if reason:
                return '%s=%r: %s' % (self.name, value, reason)
        return None


def declare_parameters(node, specs, on_change=None):
    """Declare ``specs`` on ``node``; return {name: value}.

    ``on_change(dict)`` is called with accepted new values; it may return a reason string to
    reject them (e.g. a value only valid while stopped).
    """
    by_name = {}
    values = {}
    for spec in specs:
        by_name[spec.name] = spec
        try:
            p = node.declare_parameter(spec.name, spec.default, spec.descriptor())
        except InvalidParameterTypeException as exc:
            raise StartupError('parameter %s: wrong type (%s); expected %s, e.g. %r' % (
                spec.name, exc, spec.ptype.name.lower(), spec.default))
        except (InvalidParameterValueException, ParameterException) as exc:
            raise StartupError('parameter %s rejected: %s' % (spec.name, exc))
        value = p.value
        reason = spec.check(value)
        if reason:
            raise StartupError('invalid parameter: ' + reason)
        values[spec.name] = value

    def _callback(params):
        changed = {}
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                continue
            reason = spec.check(p.value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
            changed[p.name] = p.value
        if changed and on_change is not None:
            reason = on_change(changed)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        values.update(changed)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(_callback)
    return values
