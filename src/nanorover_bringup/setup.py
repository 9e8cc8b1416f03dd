from setuptools import setup

package_name = 'nanorover_bringup'

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
    description='nanorover command line and simulation job',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'nanorover = nanorover_bringup.cli:main',
        ],
    },
)
