"""nanorover robot description: URDF (xacro), Gazebo worlds, world generator."""
