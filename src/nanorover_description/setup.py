from glob import glob

from setuptools import setup

package_name = 'nanorover_description'

setup(
    name=package_name,
    version='0.1.0',
    packages=[package_name],
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/urdf', glob('urdf/*.xacro')),
        ('share/' + package_name + '/worlds', glob('worlds/*.sdf') + glob('worlds/*.yaml')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='nanorover maintainers',
    maintainer_email='maintainers@nanorover.dev',
    description='nanorover URDF (xacro) and Gazebo worlds',
    license='Apache-2.0',
)
