from setuptools import setup

package_name = 'ydlidar_g4'

setup(
    name=package_name,
    version='0.1.0',
    packages=[package_name],
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='nanorover maintainers',
    maintainer_email='maintainers@nanorover.dev',
    description='YDLIDAR G4 driver, emulator and ROS 2 node',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'ydlidar_g4_node = ydlidar_g4.node:main',
        ],
    },
)
