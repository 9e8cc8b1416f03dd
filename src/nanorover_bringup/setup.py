import glob
import os

from setuptools import setup

package_name = 'nanorover_bringup'
# the workspace's top-level config/ and launch/ folders (two levels above this package)
TOP = os.path.join('..', '..')


def top_level(folder, pattern):
    return sorted(glob.glob(os.path.join(TOP, folder, pattern)))


setup(
    name=package_name,
    version='0.1.0',
    packages=[package_name],
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/config', top_level('config', '*.yaml')),
        ('share/' + package_name + '/launch', top_level('launch', '*.launch.py')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='nanorover maintainers',
    maintainer_email='maintainers@nanorover.dev',
    description='nanorover command line and simulation job',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'nanorover = nanorover_bringup.cli:main',
        ],
    },
)
