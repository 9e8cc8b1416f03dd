"""The launch_testing tests next to this file are real launch tests that name existing things.

They cannot run here (no launch_testing); this checks what can be checked without running them:
structure for the launch_testing pytest plugin, and every package / executable / launch / config
file they name (same AST check as tests/static for launch/).
"""
import ast
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'static'))
import workspace as ws  # noqa: E402

LAUNCH_TESTS = sorted(HERE.glob('test_*_launch.py'))


def test_the_three_launch_tests_exist():
    assert [p.name for p in LAUNCH_TESTS] == ['test_base_launch.py', 'test_detector_launch.py',
                                              'test_lidar_launch.py']


@pytest.mark.parametrize('path', LAUNCH_TESTS, ids=lambda p: p.name)
def test_launch_test_structure(path):
    tree = ast.parse(path.read_text())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    gen = funcs.get('generate_test_description')
    assert gen is not None
    assert any('launch_test' in ast.dump(d) for d in gen.decorator_list)
    assert 'ReadyToTest' in ast.dump(gen)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert any(any('TestCase' in ast.dump(b) for b in c.bases) for c in classes)
    assert any(any('post_shutdown_test' in ast.dump(d) for d in c.decorator_list)
               for c in classes), 'no post-shutdown exit code check'
    # skipped here through _skip.require_launch, with its stated reason
    assert 'require_launch()' in path.read_text()


@pytest.mark.parametrize('path', LAUNCH_TESTS, ids=lambda p: p.name)
def test_launch_tests_name_existing_things(path):
    problems = [p for p in ws.check_launch_file(path)
                if 'no generate_launch_description' not in p]
    assert not problems, '\n'.join(problems)
