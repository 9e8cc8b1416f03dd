"""map_server PGM+YAML round trip, conventions and malformed files."""
import numpy as np
import pytest
import yaml

from nanorover_common.map_io import MapError, MapInfo, read_map, write_map


def test_round_trip_and_conventions(tmp_path):
    grid = np.full((4, 6), -1, dtype=np.int8)
    grid[0, :] = 0        # bottom row (origin side) free
    grid[3, 5] = 100      # top-right occupied
    info = MapInfo(0.05, (-1.0, -2.0, 0.0))
    path = write_map(str(tmp_path / 'm'), grid, info)
    meta = yaml.safe_load(open(path))
    assert meta['image'] == 'm.pgm' and meta['mode'] == 'trinary'
    assert meta['origin'] == [-1.0, -2.0, 0.0]
    raw = (tmp_path / 'm.pgm').read_bytes()
    assert raw.startswith(b'P5')
    pixels = np.frombuffer(raw[-24:], np.uint8).reshape(4, 6)
    assert pixels[0, 5] == 0          # PGM top row = highest y: the occupied cell
    assert (pixels[3] == 254).all()   # PGM bottom row = origin row: free
    assert pixels[1, 1] == 205
    back, info2 = read_map(path)
    assert (back == grid).all()
    assert info2.resolution == 0.05 and info2.origin == (-1.0, -2.0, 0.0)


def test_overwrite_leaves_no_temp_files(tmp_path):
    info = MapInfo(0.1)
    write_map(str(tmp_path / 'm'), np.zeros((2, 2), np.int8), info)
    write_map(str(tmp_path / 'm'), np.full((3, 3), 100, np.int8), info)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.pgm', 'm.yaml']
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in tmp_path.iterdir())
    assert (read_map(str(tmp_path / 'm.yaml'))[0] == 100).all()


@pytest.mark.parametrize('yaml_text, pgm, fragment', [
    ('image: x.pgm\nresolution: 0.05\n', None, "missing key 'origin'"),
    ('image: x.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n', b'P2\n2 2\n255\n0 0 0 0', 'P5'),
    ('image: x.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n', b'P5\n4 4\n255\n\x00', 'truncated'),
    ('image: x.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n', None, 'cannot read map image'),
    (': : :', None, 'not valid YAML'),
])
def test_malformed_maps_give_clear_errors(tmp_path, yaml_text, pgm, fragment):
    (tmp_path / 'x.yaml').write_text(yaml_text)
    if pgm is not None:
        (tmp_path / 'x.pgm').write_bytes(pgm)
    with pytest.raises(MapError) as err:
        read_map(str(tmp_path / 'x.yaml'))
    assert fragment in str(err.value)
