#!/usr/bin/env python3
"""Metadata workload of bench/run: metadata.py DIR COUNT

Creates COUNT empty files in the new directory DIR, stats each, lists the
directory (with each entry's type), unlinks each and removes DIR. Prints
"create stat readdir unlink total" in seconds. One process, no forks, so the
figures are the file system's, not the shell's.
"""

import os
import sys
import time


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    top, count = sys.argv[1], int(sys.argv[2])
    os.mkdir(top)
    names = [os.path.join(top, f"f{i:06d}") for i in range(count)]
    t0 = time.monotonic()
    for name in names:
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    t1 = time.monotonic()
    for name in names:
        os.stat(name)
    t2 = time.monotonic()
    with os.scandir(top) as it:
        listed = sum(1 for entry in it if entry.is_file(follow_symlinks=False))
    t3 = time.monotonic()
    if listed != count:
        sys.exit(f"metadata.py: listed {listed} files of {count} in {top}")
    for name in names:
        os.unlink(name)
    os.rmdir(top)
    t4 = time.monotonic()
    print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {t4 - t3:.3f} {t4 - t0:.3f}")


if __name__ == "__main__":
    main()
