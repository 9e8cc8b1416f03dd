import glob
import os

from setuptools import setup

package_name = 'nanorover_sim'


def world_files():
    """(share dir, [files]) for every shipped world folder (worlds/<name>/*)."""
    entries = []
    for folder in sorted(glob.glob('worlds/*')):
        files = sorted(f for f in glob.glob(os.path.join(folder, '*')) if os.path.isfile(f))
        if files:
            entries.append((os.path.join('share', package_name, folder), files))
    return entries


setup(
    name=package_name,
    version='0.1.0',
    packages=[package_name],
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ] + world_files(),
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='nanorover maintainers',
    maintainer_email='maintainers@nanorover.dev',
    description='Embedded 2-D simulator of the nanorover',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'sim_node = nanorover_sim.sim_node:main',
        ],
    },
)
