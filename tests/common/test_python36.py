"""Robot-runtime code must parse and run on Python 3.6 (Jetson Nano images): checked with vermin.

Dev-only code (simulator, CLI, training, benchmarks) may use 3.11 and is listed in DEV_ONLY.
"""
import subprocess
import sys
from pathlib import Path

import pytest

VERMIN = str(Path(sys.executable).parent / 'vermin')
SRC = Path(__file__).resolve().parents[2] / 'src'
# paths (relative to src/) that never run on the robot
DEV_ONLY = {
    'nanorover_sim',
    'nanorover_bringup',
    'nanorover_perception/nanorover_perception/training',
}


def runtime_python_files():
    files = []
    for path in sorted(SRC.rglob('*.py')):
        rel = path.relative_to(SRC).as_posix()
        if any(rel == d or rel.startswith(d + '/') for d in DEV_ONLY):
            continue
        files.append(path)
    return files


def test_there_is_runtime_code_to_check():
    rels = {p.relative_to(SRC).parts[0] for p in runtime_python_files()}
    assert 'nanorover_common' in rels


def test_runtime_code_is_python36_compatible():
    files = runtime_python_files()
    proc = subprocess.run(
        [VERMIN, '-t=3.6-', '--violations', '--no-tips',
         '--eval-annotations', '--no-parse-comments'] + [str(f) for f in files],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, 'vermin found code newer than Python 3.6:\n' + proc.stdout


def test_vermin_catches_a_violation(tmp_path):
    """The check above can fail: a walrus (3.8) is reported."""
    bad = tmp_path / 'bad.py'
    bad.write_text('if (n := 3):\n    print(n)\n')
    proc = subprocess.run([VERMIN, '-t=3.6-', '--violations',
                           '--no-tips', str(bad)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode != 0
