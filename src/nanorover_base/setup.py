from setuptools import setup

package_name = 'nanorover_base'

setup(
    name=package_name,
    version='0.1.0',
    packages=[package_name],
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml', 'README.md']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='nanorover maintainers',
    maintainer_email='maintainers@nanorover.dev',
    description='nanorover base controller bridge (serial motor controller, odometry, battery)',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'base_node = nanorover_base.base_node:main',
            'motor_emulator = nanorover_base.emulator:main',
        ],
    },
)
