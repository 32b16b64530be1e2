"""Run one command and report its wall time and peak RSS (for run_bench.py).

    python -S bench/measure_child.py RESULT.json TIMEOUT_S MEM_LIMIT_BYTES CMD...

A small, fresh process of its own, so that the peak RSS of CMD is its own:
Linux carries a process's RSS high-water mark across exec, so a command
forked straight from the (large) benchmark process would inherit the
benchmark's peak. Here it inherits this wrapper's ~10 MB at most.

Wall time is time.perf_counter() from before the fork to after the child is
reaped; peak RSS is ru_maxrss from os.wait4. On timeout the child's process
group is killed. MEM_LIMIT_BYTES (0: none) sets RLIMIT_AS in the child, so a
tool that runs out of memory fails by itself rather than the machine.
Standard library only; stdout and stderr go to the child.
"""

import json
import os
import resource
import signal
import sys
import time


def main() -> int:
    result_path, timeout, mem_limit, *cmd = sys.argv[1:]
    timeout, mem_limit = float(timeout), int(mem_limit)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            if mem_limit:
                resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    timed_out = False

    def on_alarm(signum, frame):
        nonlocal timed_out
        timed_out = True
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    wall = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    with open(result_path, "w") as f:
        json.dump(
            {
                "wall": wall,
                "rss_mb": usage.ru_maxrss / 1024,
                "rc": os.waitstatus_to_exitcode(status),
                "timed_out": timed_out,
            },
            f,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
