"""Conversions between float seconds and builtin_interfaces/Time."""
import math

from builtin_interfaces.msg import Time


def to_time_msg(seconds):
    """float seconds -> builtin_interfaces/Time (nanoseconds rounded, never negative)."""
    seconds = max(0.0, float(seconds))
    sec = int(math.floor(seconds))
    nsec = int(round((seconds - sec) * 1e9))
    if nsec >= 1000000000:
        sec += 1
        nsec -= 1000000000
    return Time(sec=sec, nanosec=nsec)


def from_time_msg(stamp):
    """builtin_interfaces/Time -> float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9
