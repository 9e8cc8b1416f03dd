"""``nanorover lidar-info --port P``: device info, health, sample rate and frequency as JSON."""
import argparse
import json
import sys

import serial

from ydlidar_g4.driver import DeviceError, G4Driver


def main(argv=None):
    parser = argparse.ArgumentParser(prog='nanorover lidar-info',
                                     description='query a YDLIDAR G4 (the device is not changed)')
    parser.add_argument('--port', default='/dev/ydlidar', help='serial device (default %(default)s)')
    parser.add_argument('--baudrate', type=int, default=230400)
    parser.add_argument('--timeout', type=float, default=0.5, help='reply timeout [s]')
    ns = parser.parse_args(argv)
    driver = G4Driver(ns.port, baudrate=ns.baudrate, reply_timeout=ns.timeout)
    try:
        info = driver.query()
    except (DeviceError, serial.SerialException, OSError) as exc:
        sys.stderr.write('lidar-info: %s\n' % exc)
        return 1
    sys.stdout.write(json.dumps(info, indent=2, sort_keys=True) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
