"""YDLIDAR G4 driver: protocol, serial driver, pty emulator, scan builder, ROS 2 node."""
