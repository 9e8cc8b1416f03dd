"""package.xml (format 3, valid maintainer), setup.py data files, YAML configs of the workspace."""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PACKAGE_XMLS = sorted((REPO / 'src').glob('*/package.xml'))
CONFIGS = sorted((REPO / 'config').glob('*.yaml'))
# config files that are not ROS parameter files
NOT_PARAM_FILES = {'robot.yaml': 'robot geometry, read by xacro and the nodes',
                   'gz_bridge.yaml': 'ros_gz_bridge topic list',
                   'camera.yaml': 'camera_info calibration (camera_calibration_parsers format)'}
EMAIL = re.compile(r'^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$')


def test_every_package_is_found():
    names = {p.parent.name for p in PACKAGE_XMLS}
    assert {'nanorover_common', 'nanorover_base', 'nanorover_description'} <= names


@pytest.mark.parametrize('xml', PACKAGE_XMLS, ids=lambda p: p.parent.name)
def test_package_xml_format3_with_valid_maintainer(xml):
    root = ET.parse(str(xml)).getroot()
    assert root.tag == 'package' and root.get('format') == '3'
    assert root.findtext('name') == xml.parent.name
    maintainers = root.findall('maintainer')
    assert maintainers, 'no maintainer'
    for m in maintainers:
        # colcon silently treats a package with an invalid email as plain Python (ROS2_ON_PIP)
        assert EMAIL.match(m.get('email', '')), m.get('email')
    assert root.findtext('license')
    build_type = root.findtext('export/build_type')
    assert build_type in ('ament_python', 'ament_cmake')
    if build_type == 'ament_python':
        assert (xml.parent / 'setup.py').exists() and (xml.parent / 'setup.cfg').exists()
        assert (xml.parent / 'resource' / xml.parent.name).exists()
        cfg = (xml.parent / 'setup.cfg').read_text()
        assert '$base/lib/%s' % xml.parent.name in cfg


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.name)
def test_config_yaml_parses_and_param_files_have_ros_parameters(path):
    data = yaml.safe_load(path.read_text())
    assert data, '%s is empty' % path.name
    if path.name in NOT_PARAM_FILES:
        return
    assert isinstance(data, dict), path.name
    for node_name, section in data.items():
        assert _is_param_section(section), '%s: %s lacks ros__parameters' % (path.name, node_name)


def _is_param_section(section):
    """{ros__parameters: {...}}, or namespaces of such (Nav2: local_costmap: local_costmap: ...)."""
    if not isinstance(section, dict) or not section:
        return False
    if 'ros__parameters' in section:
        return isinstance(section['ros__parameters'], dict)
    return all(_is_param_section(v) for v in section.values())


def test_param_section_check_can_fail():
    assert _is_param_section({'ns': {'node': {'ros__parameters': {'a': 1}}}})
    assert not _is_param_section({'node': {'a': 1}})
    assert not _is_param_section({'ros__parameters': [1]})


def test_description_package_installs_urdf_and_worlds():
    """After make build the share folder holds what launch files and xacro look up."""
    from ament_index_python.packages import get_package_share_directory
    share = Path(get_package_share_directory('nanorover_description'))
    assert (share / 'urdf' / 'nanorover.urdf.xacro').exists()
    for world in ('room', 'office', 'hall'):
        assert (share / 'worlds' / (world + '.sdf')).exists()
    assert (share / 'worlds' / 'start_poses.yaml').exists()
