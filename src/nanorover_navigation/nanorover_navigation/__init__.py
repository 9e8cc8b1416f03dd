"""Embedded SLAM and navigation (ROS-free cores + thin rclpy nodes). Robot runtime: Python 3.6."""
