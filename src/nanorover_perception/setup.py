import glob
import os

from setuptools import setup

package_name = 'nanorover_perception'
# the shipped models live in the workspace's top-level models/ folder
MODELS = sorted(glob.glob(os.path.join('..', '..', 'models', '*.onnx')) +
                glob.glob(os.path.join('..', '..', 'models', '*.txt')) +
                glob.glob(os.path.join('..', '..', 'models', '*.md')))

setup(
    name=package_name,
    version='0.1.0',
    packages=[package_name, package_name + '.training'],
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/models', MODELS),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='nanorover maintainers',
    maintainer_email='maintainers@nanorover.dev',
    description='Camera and object detection nodes for nanorover',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'camera_node = nanorover_perception.camera_node:main',
            'detector_node = nanorover_perception.detector_node:main',
        ],
    },
)
