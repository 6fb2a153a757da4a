"""Run a command; write its wall seconds, CPU seconds, peak resident memory and exit code as JSON to a file.

    python benchmarks/peak.py OUT.json COMMAND...

Why a separate small process: Linux carries a process's peak RSS across fork and exec (ru_maxrss of a child
starts at its parent's size), so a command started straight from the large benchmark process would report the
benchmark's own memory. Started from this small launcher it reports its own, plus at most the launcher's ~10 MB.
Standard library only, so it runs against any code tree.
"""

import json
import os
import sys
import time


def main() -> None:
    """Fork, exec the command, wait, record."""
    out, args = sys.argv[1], sys.argv[2:]
    began = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"seconds": time.perf_counter() - began, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "peak_rss_mb": usage.ru_maxrss / 1024, "exit": code}, handle)
    sys.exit(code if code >= 0 else 1)


if __name__ == "__main__":
    main()
