"""``nanorover <command> ...``: one entry point, each command implemented in the package it belongs to.

Commands are imported lazily, so ``nanorover sim`` does not pay for torch and a missing optional
dependency only affects its own command.
"""
import argparse
import importlib
import sys

# command -> (module:function taking argv and returning an exit code, one-line help)
COMMANDS = {
    'sim': ('nanorover_bringup.sim_job:main',
            'run the whole stack in the embedded simulator and write a run folder'),
    'train-detector': ('nanorover_perception.training.train:main',
                       'train the detector on rendered images, export ONNX FP32 + INT8'),
    'eval-detector': ('nanorover_perception.training.evaluate:main',
                      'AP per class / mAP of an ONNX model on a held-out rendered set'),
    'detect': ('nanorover_perception.detect_cli:main',
               'run a detector on image files, print JSON lines'),
    'slam-eval': ('nanorover_navigation.evaluation_cli:main',
                  'Kuemmerle relations metric of a CARMEN log (or a run folder)'),
    'lidar-info': ('ydlidar_g4.cli:main',
                   'query a YDLIDAR G4: device info, health, sample rate, frequency'),
}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog='nanorover',
        description='nanorover: YDLIDAR G4 + camera robot on ROS 2 (pip path tools)',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='commands:\n' + '\n'.join('  %-15s %s' % (k, v[1]) for k, v in COMMANDS.items()))
    parser.add_argument('command', choices=sorted(COMMANDS), metavar='command')
    parser.add_argument('args', nargs=argparse.REMAINDER)
    if not argv or argv[0] in ('-h', '--help'):
        parser.print_help()
        return 0 if argv else 2
    ns = parser.parse_args(argv[:1])
    target = COMMANDS[ns.command][0]
    module_name, func_name = target.split(':')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        sys.stderr.write('nanorover %s: not available (%s)\n' % (ns.command, exc))
        return 2
    return int(getattr(module, func_name)(argv[1:]) or 0)


if __name__ == '__main__':
    sys.exit(main())
