"""QoS profiles used across the stack (REP 2003 conventions)."""
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy,
                       qos_profile_sensor_data)

#: sensors (scan, images, odom from a simulator): best effort, keep last 5
SENSOR_QOS = qos_profile_sensor_data

#: maps: reliable + transient local, depth 1, so a late subscriber still gets the last map
MAP_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)

#: commands and status: reliable, volatile
RELIABLE_QOS = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                          reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.VOLATILE)
