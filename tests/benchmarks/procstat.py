"""CPU time of a process from /proc (Linux), shared by the benchmarks."""
import os


def proc_cpu_seconds(pid):
    """User + system CPU seconds used so far by process ``pid``."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))
