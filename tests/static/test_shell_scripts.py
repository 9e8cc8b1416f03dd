"""shellcheck passes on every shell script of the repository (*.sh and shebang scripts, .ci/run)."""
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHEBANG = re.compile(rb'^#!\s*(/usr/bin/env\s+)?(/bin/|/usr/bin/)?(ba|da|k)?sh\b')


def shell_scripts():
    """Tracked and untracked-but-not-ignored files that are shell scripts."""
    out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=str(REPO),
                         stdout=subprocess.PIPE, check=True).stdout.decode().splitlines()
    scripts = set()
    for rel in out:
        path = REPO / rel
        if not path.is_file():
            continue
        if rel.endswith('.sh'):
            scripts.add(rel)
            continue
        with open(str(path), 'rb') as f:
            if SHEBANG.match(f.readline()):
                scripts.add(rel)
    scripts.add('.ci/run')
    return sorted(scripts)


def _shellcheck(paths):
    exe = shutil.which('shellcheck')
    assert exe, 'shellcheck missing: make installs the Debian package'
    return subprocess.run([exe, '-x'] + [str(p) for p in paths], cwd=str(REPO),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def test_shellcheck_passes_on_every_script():
    scripts = shell_scripts()
    assert '.ci/run' in scripts
    proc = _shellcheck(scripts)
    assert proc.returncode == 0, proc.stdout


def test_shellcheck_catches_a_classic_mistake(tmp_path):
    bad = tmp_path / 'bad.sh'
    bad.write_text('#!/bin/bash\nrm -rf $1/*\n')
    assert _shellcheck([bad]).returncode != 0
