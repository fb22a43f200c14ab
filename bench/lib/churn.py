#!/usr/bin/env python3
"""File-system work of bench/churn, one process per phase, no forks per file.

  churn.py write  DIR FIRST COUNT SIZE   creates COUNT files in the new DIR
  churn.py read   DIR FIRST COUNT SIZE   reads them back, checking every byte
  churn.py delete DIR FIRST COUNT        unlinks them and removes their
                                         directories and DIR
  churn.py report TSV MD [HEADER_LINE...]  writes the markdown report

File FIRST+i of a wave lies in DIR/dTTT/dSS/fNN (100 files per directory,
100 directories per top directory, like a build tree), holds SIZE bytes: its
number (8 bytes) then a slice, chosen by the number, of a pool of
pseudo-random bytes seeded with FIRST.
write, read and delete print the seconds the phase took. Before reading a
file, read drops the kernel's page cache of it (posix_fadvise DONTNEED), so
that the read reaches the file system's daemon instead of the kernel's copy
of what was just written.
"""

import os
import random
import signal
import statistics
import struct
import sys
import time

FILES_PER_DIR = 100
DIRS_PER_TOP = 100
POOL_SLACK = 4096


def layout(top, first, count):
    """Yields (directory, path, number) for each file; directories in order."""
    for i in range(count):
        n = first + i
        d = os.path.join(top, f"d{i // (FILES_PER_DIR * DIRS_PER_TOP):03d}",
                         f"d{(i // FILES_PER_DIR) % DIRS_PER_TOP:02d}")
        yield d, os.path.join(d, f"f{i % FILES_PER_DIR:02d}.o"), n


class Contents:
    """The bytes of file number n: its number, then a slice of a pool of
    pseudo-random bytes drawn from SEED (the same for write and read)."""

    def __init__(self, size, seed):
        self.size = size
        self.pool = memoryview(random.Random(seed).randbytes(size + POOL_SLACK))

    def parts(self, n):
        head = struct.pack("<Q", n)[: self.size]
        rest = self.size - len(head)
        off = (n * 977) % POOL_SLACK
        return head, self.pool[off:off + rest]


def write_all(fd, data):
    view = memoryview(data)
    while view:
        done = os.write(fd, view)
        view = view[done:]


def cmd_write(top, first, count, size):
    contents = Contents(size, first)
    data = bytearray(size)
    t0 = time.monotonic()
    os.mkdir(top)
    made = set()
    for d, path, n in layout(top, first, count):
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            # One write call of the whole file.
            head, rest = contents.parts(n)
            data[:len(head)] = head
            data[len(head):] = rest
            write_all(fd, data)
        finally:
            os.close(fd)
    return time.monotonic() - t0


def cmd_read(top, first, count, size):
    contents = Contents(size, first)
    buf = bytearray(size + 1)
    mv = memoryview(buf)
    t0 = time.monotonic()
    for _, path, n in layout(top, first, count):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            got = 0
            while True:
                r = os.readv(fd, [mv[got:]])
                if r == 0:
                    break
                got += r
                if got > size:
                    break
        finally:
            os.close(fd)
        head, rest = contents.parts(n)
        if got != size or mv[:len(head)] != head or mv[len(head):size] != rest:
            sys.exit(f"churn.py: {path}: read {got} bytes, expected {size}"
                     + ("" if got != size else " (contents differ)"))
    return time.monotonic() - t0


def cmd_delete(top, first, count):
    t0 = time.monotonic()
    dirs = []
    for d, path, _ in layout(top, first, count):
        if not dirs or dirs[-1] != d:
            dirs.append(d)
        os.unlink(path)
    tops = []
    for d in dirs:
        os.rmdir(d)
        parent = os.path.dirname(d)
        if not tops or tops[-1] != parent:
            tops.append(parent)
    for d in tops:
        os.rmdir(d)
    os.rmdir(top)
    return time.monotonic() - t0


# ---------------------------------------------------------------- report

def fmt_int(v):
    return "-" if v in ("-", "", None) else f"{int(v):,}"


def fmt_s(v):
    return "-" if v in ("-", "", None) else f"{float(v):.3f}"


def median(values):
    values = [float(v) for v in values if v not in ("-", "")]
    return statistics.median(values) if values else None


def cmd_report(tsv, md, header_lines):
    waves, remounts, lives, meta = [], [], [], {}
    with open(tsv) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            row = line.rstrip("\n").split("\t")
            if row[0] == "wave":
                waves.append(row[1:])
            elif row[0] == "remount":
                remounts.append(row[2:])
            elif row[0] == "live":
                lives.append(row[1:])
            elif row[0] == "metadata":
                meta.setdefault(row[1], []).append(row[3:8])
    out = list(header_lines) + [""]
    out += ["| wave | files | create+write s | read s | delete s | used_blocks after read |"
            " used_blocks after delete | daemon RSS KiB | metadata store bytes | read hits |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in waves:
        number, files, cw, rd, dl, ur, ud, rss, meta_bytes, hits = w
        out.append(f"| {number} | {fmt_int(files)} | {fmt_s(cw)} | {fmt_s(rd)} | {fmt_s(dl)} | "
                   f"{fmt_int(ur)} | {fmt_int(ud)} | {fmt_int(rss)} | {fmt_int(meta_bytes)} | "
                   f"{fmt_int(hits)} |")
    out += ["", "| after the last wave | remount s | used_blocks | daemon RSS KiB | metadata store bytes |",
            "|---|---:|---:|---:|---:|"]
    for r in remounts:
        seconds, used, rss, meta_bytes = r
        out.append(f"| unmount, mount again | {fmt_s(seconds)} | {fmt_int(used)} | "
                   f"{fmt_int(rss)} | {fmt_int(meta_bytes)} |")
    if lives:
        out += ["", "| a cache that has seen N live files | read through the view s | mount s |"
                " used_blocks | daemon RSS KiB after mount | records resident | metadata store bytes |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for r in lives:
            files, rd, mount_s, used, rss, resident, meta_bytes = r
            out.append(f"| {fmt_int(files)} files | {fmt_s(rd)} | {fmt_s(mount_s)} | {fmt_int(used)} | "
                       f"{fmt_int(rss)} | {fmt_int(resident)} | {fmt_int(meta_bytes)} |")
    if meta:
        phases = ["create", "stat", "readdir", "unlink", "total"]
        reps = max(len(v) for v in meta.values())
        out += ["", f"Metadata workload (bench/lib/metadata.py), seconds, medians of {reps} "
                "repetitions (alternating):", "",
                "| system | " + " | ".join(phases) + " |",
                "|---|" + "---:|" * len(phases)]
        medians = {}
        for system in ("wtcachefs", "mergerfs"):
            if system not in meta:
                continue
            medians[system] = [median(rep[i] for rep in meta[system]) for i in range(len(phases))]
            out.append(f"| {system} | " + " | ".join(
                "-" if m is None else f"{m:.3f}" for m in medians[system]) + " |")
        wt, mg = medians.get("wtcachefs"), medians.get("mergerfs")
        if wt and mg and wt[-1] is not None and mg[-1]:
            ratio = f"{wt[-1] / mg[-1]:.2f}"
        else:
            ratio = "-"
        out += ["", f"Ratio of the total medians, wtcachefs / mergerfs: {ratio}"]
    with open(md, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    argv = sys.argv[1:]
    try:
        if argv and argv[0] == "report" and len(argv) >= 3:
            cmd_report(argv[1], argv[2], argv[3:])
            return
        if len(argv) == 5 and argv[0] == "write":
            s = cmd_write(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
        elif len(argv) == 5 and argv[0] == "read":
            s = cmd_read(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
        elif len(argv) == 4 and argv[0] == "delete":
            s = cmd_delete(argv[1], int(argv[2]), int(argv[3]))
        else:
            sys.exit(__doc__)
    except OSError as e:
        sys.exit(f"churn.py {argv[0]}: {e}")
    print(f"{s:.3f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        # Die of the signal, without a traceback, as the shell expects.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
