"""nanorover_common.params over a real rclpy node: descriptors, ranges, choices, reasons."""
import pytest
import rclpy
from rcl_interfaces.msg import ParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

from nanorover_common.node import StartupError
from nanorover_common.params import Param, declare_parameters

pytestmark = pytest.mark.ros

SPECS = [
    Param('frequency', 10.0, 'scan frequency [Hz]', range=(5.0, 12.0)),
    Param('sample_rate', 9, 'sample rate [kHz]', choices=(4, 8, 9)),
    Param('port', '/dev/ydlidar', 'serial device',
          validator=lambda v: None if v.startswith('/') else 'must be an absolute path'),
]


def make_node(ctx, overrides=None):
    return Node('params_under_test', context=ctx,
                parameter_overrides=[Parameter(k, value=v) for k, v in (overrides or {}).items()])


def test_defaults_and_descriptors(ros_context):
    node = make_node(ros_context)
    try:
        values = declare_parameters(node, SPECS)
        assert values == {'frequency': 10.0, 'sample_rate': 9, 'port': '/dev/ydlidar'}
        d = node.describe_parameter('frequency')
        assert d.type == ParameterType.PARAMETER_DOUBLE
        assert d.floating_point_range[0].from_value == 5.0
        assert d.floating_point_range[0].to_value == 12.0
        assert 'one of 4, 8, 9' in node.describe_parameter('sample_rate').additional_constraints
    finally:
        node.destroy_node()


@pytest.mark.parametrize('overrides, fragment', [
    ({'frequency': 20.0}, 'frequency'),
    ({'sample_rate': 5}, 'sample_rate=5 is not one of 4, 8, 9'),
    ({'port': 'ttyUSB0'}, 'must be an absolute path'),
    ({'frequency': 'fast'}, 'wrong type'),
])
def test_bad_startup_values_are_rejected_with_reason(ros_context, overrides, fragment):
    node = make_node(ros_context, overrides)
    try:
        with pytest.raises(StartupError) as err:
            declare_parameters(node, SPECS)
        assert fragment in str(err.value)
    finally:
        node.destroy_node()


def test_runtime_changes_checked_and_forwarded(ros_context):
    node = make_node(ros_context)
    seen = []

    def on_change(changed):
        seen.append(changed)
        return 'busy' if changed.get('frequency') == 6.0 else None

    try:
        values = declare_parameters(node, SPECS, on_change=on_change)
        r = node.set_parameters([Parameter('sample_rate', value=7)])[0]
        assert not r.successful and 'not one of' in r.reason
        r = node.set_parameters([Parameter('frequency', value=13.0)])[0]
        assert not r.successful
        r = node.set_parameters([Parameter('frequency', value=6.0)])[0]
        assert not r.successful and r.reason == 'busy'
        assert values['frequency'] == 10.0
        r = node.set_parameters([Parameter('frequency', value=7.5)])[0]
        assert r.successful
        assert values['frequency'] == 7.5
        assert seen[-1] == {'frequency': 7.5}
        assert rclpy.ok(context=ros_context)
    finally:
        node.destroy_node()
