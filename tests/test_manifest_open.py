"""The manifest database when several processes open a fresh data dir at the same moment."""

import subprocess
import sys
import time

from assistant.settings import PROJECT_ROOT

OPEN = """
import sys, time
from pathlib import Path
from assistant.manifest import ManifestDB
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
db = ManifestDB(Path(sys.argv[1]))
print(db.rows("PRAGMA journal_mode")[0][0])
"""


def test_processes_opening_a_fresh_manifest_at_once_all_get_it(tmp_path):
    for round_ in range(3):
        path = tmp_path / f"round-{round_}" / "manifest.sqlite3"
        start = time.time() + 2.0  # every process imported and waiting before the first opens the file
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(path), str(start)], cwd=PROJECT_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        results = [(p.wait(timeout=120), p.stdout.read().strip(), p.stderr.read()) for p in procs]
        assert [(code, mode) for code, mode, _ in results] == [(0, "wal")] * 6, [r[2][-500:] for r in results]
