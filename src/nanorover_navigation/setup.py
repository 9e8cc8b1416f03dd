from setuptools import setup

package_name = 'nanorover_navigation'

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
    description='Embedded SLAM and navigation for nanorover',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'slam_node = nanorover_navigation.slam_node:main',
            'navigator_node = nanorover_navigation.navigator_node:main',
        ],
    },
)
