"""Camera and detector nodes (ROS-free cores + thin rclpy nodes). Robot runtime: Python 3.6."""
