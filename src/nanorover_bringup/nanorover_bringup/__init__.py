"""The nanorover command line (pip path): simulation job, detector and SLAM tooling."""
