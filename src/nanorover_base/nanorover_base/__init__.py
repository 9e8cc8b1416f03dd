"""nanorover base controller bridge: protocol, kinematics, emulator, base_node."""
