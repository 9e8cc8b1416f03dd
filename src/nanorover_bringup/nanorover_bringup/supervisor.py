"""Node processes of a run: start, watch, report a death with the node's last log lines, stop.

Each node runs in its own session (process group), so a Ctrl-C on the terminal reaches only the
CLI, which then stops the nodes in order: SIGINT (rclpy's clean shutdown), SIGKILL of the whole
group after a timeout. stdout + stderr of each node go to <log_dir>/<name>.log.
"""
import os
import signal
import subprocess
import time


class NodeDied(RuntimeError):
    """A supervised process exited while the run was going on."""

    def __init__(self, name, returncode, tail, log_path):
        self.name = name
        self.returncode = returncode
        self.tail = tail
        self.log_path = log_path
        super(NodeDied, self).__init__(self.describe())

    def describe(self):
        if self.returncode is not None and self.returncode < 0:
            try:
                how = 'was killed by %s' % signal.Signals(-self.returncode).name
            except ValueError:
                how = 'was killed by signal %d' % -self.returncode
        else:
            how = 'exited with code %s' % self.returncode
        lines = ['node %s %s; last lines of %s:' % (self.name, how, self.log_path)]
        lines += ['  | ' + line for line in (self.tail or ['(no output)'])]
        return '\n'.join(lines)


def tail_lines(path, n=15, max_bytes=32768):
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except (IOError, OSError):
        return []
    lines = data.decode('utf-8', 'replace').splitlines()
    return [line for line in lines if line.strip()][-n:]


class Process(object):
    __slots__ = ('name', 'cmd', 'log_path', 'popen', 'log_file', 'started')

    def __init__(self, name, cmd, log_path, popen, log_file):
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self.popen = popen
        self.log_file = log_file
        self.started = time.monotonic()

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None


class Supervisor(object):
    def __init__(self, log_dir, env=None):
        self.log_dir = str(log_dir)
        if not os.path.isdir(self.log_dir):
            os.makedirs(self.log_dir)
        self.env = dict(os.environ if env is None else env)
        self.processes = []
        self.stopping = False

    def start(self, name, cmd):
        log_path = os.path.join(self.log_dir, name + '.log')
        log_file = open(log_path, 'ab')
        popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                 stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        # first line of the log: who this is (the pid lets a person or a test find the process)
        log_file.write(('# nanorover: started %s pid %d: %s\n' % (name, popen.pid, ' '.join(cmd)))
                       .encode())
        log_file.flush()
        proc = Process(name, list(cmd), log_path, popen, log_file)
        self.processes.append(proc)
        return proc

    def get(self, name):
        for p in self.processes:
            if p.name == name:
                return p
        return None

    def check(self):
        """Raise NodeDied for the first process that exited (while not stopping)."""
        if self.stopping:
            return
        for p in self.processes:
            code = p.popen.poll()
            if code is not None:
                p.log_file.flush()
                raise NodeDied(p.name, code, tail_lines(p.log_path), p.log_path)

    def stop_all(self, timeout=10.0):
        """SIGINT every live process, wait up to ``timeout`` s, SIGKILL the rest (whole groups).

        Returns {name: returncode}; processes that needed SIGKILL are listed in ``self.killed``.
        """
        self.stopping = True
        self.killed = []
        live = [p for p in self.processes if p.popen.poll() is None]
        for p in live:
            self._signal(p, signal.SIGINT)
        deadline = time.monotonic() + timeout
        for p in live:
            try:
                p.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in live:
            if p.popen.poll() is None:
                self.killed.append(p.name)
                self._signal(p, signal.SIGKILL, group=True)
                try:
                    p.popen.wait(5.0)
                except subprocess.TimeoutExpired:
                    pass
        for p in self.processes:
            # children the node left behind in its group (e.g. a helper process) go too
            self._signal(p, signal.SIGKILL, group=True)
            p.log_file.close()
        return dict((p.name, p.popen.returncode) for p in self.processes)

    @staticmethod
    def _signal(p, sig, group=False):
        try:
            if group:
                os.killpg(p.popen.pid, sig)
            else:
                p.popen.send_signal(sig)
        except (ProcessLookupError, PermissionError, OSError):
            pass
