"""The README's parameter tables are generated from the nodes' declared parameters and must match.

Regenerate after changing a node's parameters:  python tests/common/test_readme.py --write
"""
import importlib
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / 'README.md'
BEGIN = '<!-- BEGIN GENERATED PARAMETERS (tests/common/test_readme.py --write) -->'
END = '<!-- END GENERATED PARAMETERS -->'
NODES = [  # (package, executable, module)
    ('ydlidar_g4', 'ydlidar_g4_node', 'ydlidar_g4.node'),
    ('nanorover_sim', 'sim_node', 'nanorover_sim.sim_node'),
    ('nanorover_navigation', 'slam_node', 'nanorover_navigation.slam_node'),
    ('nanorover_navigation', 'navigator_node', 'nanorover_navigation.navigator_node'),
    ('nanorover_perception', 'camera_node', 'nanorover_perception.camera_node'),
    ('nanorover_perception', 'detector_node', 'nanorover_perception.detector_node'),
    ('nanorover_base', 'base_node', 'nanorover_base.base_node'),
]


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def generate():
    out = [BEGIN]
    for package, exe, module in NODES:
        specs = importlib.import_module(module).SPECS
        out.append('')
        out.append('<details><summary><code>%s</code> (%s): %d parameters</summary>\n'
                   % (exe, package, len(specs)))
        out.append('| parameter | type | default | constraint | description |')
        out.append('|---|---|---|---|---|')
        for s in specs:
            flags = s.constraints_text() + ('; read-only' if s.read_only else '')
            out.append('| `%s` | %s | `%s` | %s | %s |' % (
                s.name, s.ptype.name.lower(), _cell(s.default), _cell(flags.strip('; ')),
                _cell(s.description)))
        out.append('\n</details>')
    out.append(END)
    return '\n'.join(out)


def _current():
    text = README.read_text()
    assert BEGIN in text and END in text, 'README.md lacks the generated-parameters markers'
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    return text, start, end


def test_readme_parameter_tables_match_the_nodes():
    text, start, end = _current()
    assert text[start:end] == generate(), \
        'README parameter tables are stale: run python tests/common/test_readme.py --write'


if __name__ == '__main__' and '--write' in sys.argv:
    text, start, end = _current()
    README.write_text(text[:start] + generate() + text[end:])
    print('README.md parameter tables regenerated')
