"""Run a command and write its wall time and peak memory as JSON: ``peak_rss.py OUT -- CMD...``.

Run as a script from a fresh, small Python on purpose. Linux carries a process's max-RSS
high-water mark across fork and exec, so a child started straight from the (large) benchmark
process would report at least the benchmark's own RSS. Started from this small launcher, the
child's figure is its own (or this launcher's ~10 MB, whichever is larger).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: peak_rss.py OUT.json -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    out_path, command = argv[0], argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "w") as f:
        json.dump({"exit_code": proc.returncode, "wall_s": wall,
                   "max_rss_kib": usage.ru_maxrss,  # KiB on Linux
                   "user_s": usage.ru_utime, "system_s": usage.ru_stime}, f)
    return proc.returncode if proc.returncode >= 0 else 128 - proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
