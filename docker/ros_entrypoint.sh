#!/bin/bash
# Entry point of the nanorover images: source ROS and the workspace, then run the command.
set -e
if [ -f "/opt/ros/${ROS_DISTRO}/install/setup.bash" ]; then
  # shellcheck disable=SC1090
  source "/opt/ros/${ROS_DISTRO}/install/setup.bash"     # source builds (Jetson)
elif [ -f "/opt/ros/${ROS_DISTRO}/setup.bash" ]; then
  # shellcheck disable=SC1090
  source "/opt/ros/${ROS_DISTRO}/setup.bash"             # apt installs (dev image)
fi
for ws in /opt/nanorover/install /ws/install; do
  if [ -f "$ws/setup.bash" ]; then
    # shellcheck disable=SC1091
    source "$ws/setup.bash"
  fi
done
exec "$@"
