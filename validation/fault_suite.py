#!/usr/bin/env python3
"""Fault and hostile-input suite for fpsolve: what a user, a full disk or a kill must never break.

Three parts, each run of fpsolve in a fresh temporary directory with a timeout:

A. Regression table (REGRESSIONS, data): inputs that must be refused with exit status 2 before any
   work, with a message on stderr that names the offending key (huge grids, time steps and frame
   counts, an enormous initial-condition file, a potential nested 100000 deep or singular on the
   box, an unstable drift, outputs that are the problem file, a device, a directory, a missing
   directory, a non-HDF5 or read-only file, a FIFO to inspect, empty/missing/directory problem
   files, indefinite matrices named by their own key, negative steps, newlines in --set, raw
   terminal escapes in a title), and a few things that must work (a 253-character file name,
   --force, replacing an earlier result).
B. Faults: the disk fills up during `solve` and during `evolve` (RLIMIT_FSIZE, SIGXFSZ ignored so
   that writes fail with EFBIG), SIGKILL in the middle of writing (the next run cleans the stale
   temporary file), SIGINT twice (two partial files, the first one kept byte for byte).
C. A seeded, time-bounded mutation fuzzer over grids/*.toml (byte and token mutations), two runs
   in parallel: no death by a signal, exit status 0, 1 or 2, nothing but the output family created,
   the problem file unchanged, no temporary file left behind. A run slower than 20 s is killed and
   counted as slow (not a failure), and a normal run in its directory must then clean up. Fuzzed
   runs get an 8 GiB address-space and 1 GiB file-size limit so that a runaway input cannot take
   the machine down.

After every run: the process did not die of a signal and exited with 0, 1 or 2 (except where a
case says otherwise); every file that existed in the run directory before is byte-identical
(sha256) unless it is the output being written by a successful run; nothing new appears but the
expected outputs; no temporary file (`.fpsolve-tmp-` in the name, or a dot file containing `.tmp`)
remains after a run that ended by itself.

Prints one line per check ('ok   name' / 'FAIL name (detail)') and closes with 'N passed, N failed';
exits 1 on any failure.

    .venv/bin/python validation/fault_suite.py --fpsolve .build/release/fpsolve [--only NAME]
        [--skip-fuzz] [--seed N] [--fuzz-seconds S]
"""
import argparse
import fnmatch
import hashlib
import os
import random
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import tomllib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import Checks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GRIDS = ROOT / "grids"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
FPSOLVE = str(ROOT / ".build" / "release" / "fpsolve")  # replaced by --fpsolve
DEFAULT_TIMEOUT = 30.0
IS_ROOT = os.geteuid() == 0


# ---------------------------------------------------------------------------------------------
# Bookkeeping

class SetupError(Exception):
    """The case could not be prepared (a FAIL)."""


class SkipCase(Exception):
    """The case cannot run here (e.g. mknod without root): reported as skip."""


# ---------------------------------------------------------------------------------------------
# Running fpsolve

@dataclass
class Run:
    returncode: int | None  # None: timed out (killed with SIGKILL)
    stdout: bytes
    stderr: str
    seconds: float

    @property
    def timed_out(self):
        return self.returncode is None

    def brief(self):
        """Exit status and the first line of stderr, for FAIL details."""
        if self.timed_out:
            return f"timed out after {self.seconds:.1f} s"
        line = next((l.strip() for l in self.stderr.splitlines() if l.strip()), "")
        return f"exit {self.returncode}: {shorten(line)}"


def shorten(text, limit=160):
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def run_fpsolve(args, cwd, timeout=DEFAULT_TIMEOUT, preexec_fn=None):
    start = time.monotonic()
    try:
        p = subprocess.run([FPSOLVE, *args], cwd=cwd, capture_output=True, timeout=timeout,
                           preexec_fn=preexec_fn, stdin=subprocess.DEVNULL)
        return Run(p.returncode, p.stdout, p.stderr.decode(errors="replace"), time.monotonic() - start)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed it with SIGKILL
        return Run(None, e.stdout or b"", (e.stderr or b"").decode(errors="replace"), time.monotonic() - start)


def crash_line(stderr):
    """The telling part of a crash report: the assertion or runtime failure and the first source
    location of fpsolve in the backtrace, rather than the backtrace."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    what = next((l for pattern in ("Assertion", "Fatal error", "runtime failure", "Program crashed")
                 for l in lines if pattern.lower() in l.lower()), lines[0] if lines else "(no stderr)")
    where = next((m.group(1) for l in lines for m in [re.search(r"(\w+\.(?:swift|hpp|cpp|c|h):\d+)", l)] if m),
                 None)
    what = re.sub(r"^[*\s]+|[*\s]+$", "", what[what.find("Assertion"):] if "Assertion" in what else what)
    return shorten(what, 120) + (f" at {where}" if where else "")


def exit_problems(run, allowed=(0, 1, 2)):
    """The rules for every run: no signal, an exit status in `allowed`, no timeout."""
    if run.timed_out:
        return [f"timed out after {run.seconds:.0f} s"]
    if run.returncode < 0:
        return [f"killed by signal {signal.Signals(-run.returncode).name}: {crash_line(run.stderr)}"]
    if run.returncode not in allowed:
        return [f"exit {run.returncode} not in {sorted(allowed)}: {run.brief()}"]
    return []


# ---------------------------------------------------------------------------------------------
# The run directory: snapshots, temporary files, output families

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(directory):
    """relative path -> sha256 (regular files), 'dir', or 'special:<kind>' (never opened: FIFOs)."""
    entries = {}
    directory = Path(directory)
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(directory))
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                entries[rel] = sha256(path)
            elif stat.S_ISDIR(mode):
                entries[rel] = "dir"
            elif stat.S_ISCHR(mode):
                entries[rel] = "special:character device"
            elif stat.S_ISFIFO(mode):
                entries[rel] = "special:fifo"
            elif stat.S_ISLNK(mode):
                entries[rel] = "symlink:" + os.readlink(path)
            else:
                entries[rel] = f"special:{oct(mode)}"
    return entries


def is_temporary(rel):
    """A temporary file or folder of fpsolve, or anything inside one."""
    return any(".fpsolve-tmp-" in part or (part.startswith(".") and ".tmp" in part)
               for part in Path(rel).parts)


def temporaries(directory):
    """The temporary entries of a run directory, outermost only."""
    found = [rel for rel in snapshot(directory) if is_temporary(rel)]
    return [rel for rel in found if not is_temporary(str(Path(rel).parent))]


def output_family(target, evolve=False):
    """Glob patterns of what a run writing `target` may create: the file, its ParaView sidecar and
    folder, and for evolve the partial files of an interrupted or failed run."""
    stems = {target[:-3] if target.endswith(".h5") else target}
    stems.add(os.path.splitext(target)[0])
    patterns = [target]
    for stem in stems:
        patterns += [f"{stem}.pvd", f"{stem}_vtk", f"{stem}_vtk/*"]
        if evolve:
            patterns += [f"{stem}.partial*.h5", f"{stem}.partial*.pvd", f"{stem}.partial*_vtk",
                         f"{stem}.partial*_vtk/*"]
    return patterns


def matches(rel, patterns):
    return any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def outermost(paths):
    """Drop the entries that lie inside another entry of the same set (a new folder is one finding)."""
    paths = set(paths)
    return sorted(p for p in paths if not any(str(parent) in paths for parent in Path(p).parents))


def directory_problems(before, after, may_create=(), may_change=(), temporaries_allowed=False, limit=6):
    """What changed in a run directory that should not have (at most `limit` findings, then a count)."""
    problems = []
    for rel in outermost(set(before) - set(after)):
        problems.append(f"{shorten(rel, 60)} was removed")
    for rel, digest in before.items():
        if rel in after and after[rel] != digest and not matches(rel, may_change):
            problems.append(f"{shorten(rel, 60)} was modified ({digest[:16]} -> {after[rel][:16]})")
    for rel in outermost(set(after) - set(before)):
        if is_temporary(rel):
            if not temporaries_allowed:
                problems.append(f"temporary {shorten(rel, 60)} left behind")
        elif not matches(rel, may_create):
            problems.append(f"unexpected new {'folder' if after[rel] == 'dir' else 'file'} {shorten(rel, 60)}")
    if len(problems) > limit:
        problems = problems[:limit] + [f"and {len(problems) - limit} more"]
    return problems


def copy_grid(name, directory):
    shutil.copy(GRIDS / name, Path(directory) / name)


# ---------------------------------------------------------------------------------------------
# Problem-file edits and set-up helpers for the table

def set_key(text, section, key, value):
    """Set `key = value` in [section] of a TOML text ('' = the top level), adding it if missing."""
    lines = text.splitlines()
    current, header = "", None
    for i, line in enumerate(lines):
        stripped = line.strip()
        m = re.match(r"\[([^\[\]]+)\]\s*(#.*)?$", stripped)
        if m:
            current = m.group(1).strip()
            if current == section:
                header = i
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    if section == "":
        lines.insert(0, f"{key} = {value}")
    elif header is not None:
        lines.insert(header + 1, f"{key} = {value}")
    else:
        lines += ["", f"[{section}]", f"{key} = {value}"]
    return "\n".join(lines) + "\n"


def spectral(command, grid, modes, *extra, basis=None):
    """argv of `fpsolve COMMAND grids/GRID` (or GRID itself when it is a path) with a spectral
    [discretization] (`basis` per axis, Hermite by default; `modes` comma-separated), then
    `extra` arguments."""
    names = basis or ["hermite"] * (modes.count(",") + 1)
    listed = ", ".join(f'"{name}"' for name in names)
    problem = grid if "/" in grid else f"grids/{grid}"
    return [command, problem, "--set", 'discretization.type="spectral"',
            "--set", f"discretization.basis=[{listed}]", "--modes", modes, *extra]


# Langevin on a ring, U = cos x (periodic position axis): the Fourier × Hermite spectral cases.
RING = str(ROOT / "validation" / "problems" / "langevin-periodic.toml")


def write_problem(name, grid, section, key, value):
    """A set-up step: write `name` = grids/`grid` with one key set."""
    def setup(d):
        text = (GRIDS / grid).read_text()
        (d / name).write_text(set_key(text, section, key, value(d) if callable(value) else value))
    return setup


def validation_case(keys):
    """argv and set-up of `fpsolve validate case` for a case file case.toml (the 2-d OU of
    grids/ou2d.toml against its closed form) with `keys` under [case]."""
    text = f'[case]\nreference = "ou-stationary"\nproblem = "{GRIDS / "ou2d.toml"}"\n{keys}\n'
    return dict(argv=["validate", "case", "--cases-directory", "."], setup=write_file("case.toml", text.encode()))


def write_file(name, content=b""):
    def setup(d):
        (d / name).write_bytes(content)
    return setup


def make_dir(name):
    def setup(d):
        (d / name).mkdir()
    return setup


def make_fifo(name):
    def setup(d):
        os.mkfifo(d / name)
    return setup


def make_char_device(name):
    """A private copy of /dev/null (mknod as root): what `-o /dev/null` would do, without risk."""
    def setup(d):
        try:
            os.mknod(d / name, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except OSError as e:
            raise SkipCase(f"cannot mknod a character device here: {e.strerror}")
    return setup


def make_previous_output(target="out.h5", mode=None):
    """A genuine earlier fpsolve result (grids/ou1d.toml), optionally chmod'ed."""
    def setup(d):
        copy_grid("ou1d.toml", d)
        run = run_fpsolve(["solve", "ou1d.toml", "-o", target, "--quiet"], d)
        if run.returncode != 0 or not (d / target).exists():
            raise SetupError(f"could not make a previous output: {run.brief()}")
        if mode is not None:
            os.chmod(d / target, mode)
    return setup


def make_large_initial(name, n):
    """A few-KB HDF5 file declaring /density of shape (n, n) (chunked, never written) and 1-d x, y."""
    def setup(d):
        with h5py.File(d / name, "w") as f:
            f.create_dataset("density", shape=(n, n), dtype="f8", chunks=(64, 64))
            for axis in ("x", "y"):
                f.create_dataset(axis, shape=(n,), dtype="f8", chunks=(4096,))
        if (d / name).stat().st_size > 100_000:
            raise SetupError(f"{name} is not small: {(d / name).stat().st_size} bytes")
    return setup


def chain(*steps):
    def setup(d):
        for step in steps:
            step(d)
    return setup


# Post-run checks: (directory, run) -> list of problems

def still_char_device(path):
    def post(d, run):
        p = Path(path) if os.path.isabs(path) else d / path
        try:
            ok = stat.S_ISCHR(os.stat(p).st_mode)
        except FileNotFoundError:
            ok = False
        if ok:
            return []
        if str(p) == "/dev/null" and IS_ROOT:  # put the system's /dev/null back
            try:
                os.remove("/dev/null")
            except FileNotFoundError:
                pass
            os.mknod("/dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
            os.chmod("/dev/null", 0o666)
            return [f"{p} is no longer a character device (restored)"]
        return [f"{p} is no longer a character device"]
    return post


def is_hdf5(name):
    def post(d, run):
        with open(d / name, "rb") as f:
            head = f.read(8)
        return [] if head == HDF5_SIGNATURE else [f"{name} is not an HDF5 file after the run"]
    return post


def exists(name):
    def post(d, run):
        return [] if (d / name).is_file() else [f"{shorten(name, 40)} was not written"]
    return post


def no_escape_in_inspect(target):
    """`inspect` (and `inspect --problem`) must not print raw terminal escapes either."""
    def post(d, run):
        problems = []
        for extra in ([], ["--problem"]):
            r = run_fpsolve(["inspect", target, *extra], d, timeout=30)
            if r.returncode != 0:
                problems.append(f"inspect {' '.join(extra)}: {r.brief()}")
            elif b"\x1b" in r.stdout:
                problems.append(f"inspect {' '.join(extra)} printed an ESC byte")
        return problems
    return post


def guard_previous_passed(name, why):
    """As root, run a case only if `name` passed in this session (never hand /dev/null to a binary
    that replaced a private character device). Without root the system refuses the damage anyway."""
    def guard(checks):
        if IS_ROOT and name not in checks.results:
            return f"skip: {name} was not run, and as root {why}"
        if IS_ROOT and not checks.results[name]:
            return f"not run: {name} failed, and as root {why}"
        return None
    return guard


# ---------------------------------------------------------------------------------------------
# A. The regression table
#
# name, argv (grids/X.toml is copied into the run directory and passed as X.toml; `-o out.h5` is
# added to solve/evolve unless the argv has -o or default_output is False), setup (before the
# snapshot; raises SetupError or SkipCase), exit, stderr (case-insensitive fragments; a tuple means
# any one of them), not_stderr, no_esc_stdout, max_seconds, timeout, output (the target when -o is
# implied), post (extra checks after the run), guard (may veto the run), only_if (condition, reason).
# A successful run may create and rewrite its output family (output_family) and nothing else.

LANGEVIN = "grids/langevin-double-well.toml"
LW_EVOLVE = ["--cells", "40,40", "--t-end", "0.1", "--dt", "0.01", "--frames", "3",
             "--set", 'evolve.initial={type="gaussian", mean=[0.0,0.0], covariance=[[0.1,0.0],[0.0,0.1]]}']
DEEP = "(" * 100000 + "x" + ")" * 100000

def write_initial_output(directory):
    """An earlier evolve output that the next run both starts from and is told to write."""
    run = run_fpsolve(["evolve", "ou2d-transient.toml", "-o", "e.h5", "--cells", "20,20", "--frames", "3", "--quiet"], directory)
    if run.returncode != 0:
        raise SetupError(f"could not make e.h5: {run.stderr[:200]}")


REGRESSIONS = [
    # Reviewer findings: the run's own input as its output; axis names that are dataset names;
    # marginal names that would collide in 4-d.
    dict(name="output-is-initial-file", argv=["evolve", "grids/ou2d-transient.toml", "-o", "e.h5", "--cells", "20,20",
                                              "--frames", "3", "--set", 'evolve.initial={type="file", path="e.h5"}'],
         setup=lambda d: (copy_grid("ou2d-transient.toml", d), write_initial_output(d)), exit=2, stderr=["initial condition"]),
    dict(name="axis-named-like-a-dataset", argv=["solve", "grids/ou2d.toml", "--set", 'grid.axes=["axis_row","mass"]'],
         exit=2, stderr=["grid.axes"]),
    # Fuzzer find (seed 4242): a drift singular at the preconditioner's reference point gave a NaN
    # coupling for every split and an empty axis group (a precondition trap).
    dict(name="iterative-split-singular-drift", argv=["solve", "grids/langevin-2d.toml", "--set", "parameters.a=1e308",
                                                      "--set", 'model.potential="a*x^-0 - b*x^2 + 0.5*k*y^2 + c*x*y"'],
         exit=2),
    dict(name="marginal-names-distinct", argv=["solve", "grids/ou4d.toml", "--cells", "4,5,6,7",
                                               "--set", 'grid.axes=["a_b","c","a","b_c"]'], exit=0),

    # 1. cell counts whose product overflows
    dict(name="cells-overflow", argv=["solve", "grids/ou2d.toml", "--cells", "4000000000,4000000000"],
         exit=2, stderr=["grid.cells"]),
    # 2. time steps that would never end
    dict(name="evolve-dt-tiny", argv=["evolve", "grids/ou2d-transient.toml", "--dt", "1e-300"],
         exit=2, stderr=["evolve.dt"]),
    dict(name="evolve-t-end-huge", argv=["evolve", "grids/ou2d-transient.toml", "--set", "evolve.t_end=1e300"],
         exit=2, stderr=["evolve.t_end"]),
    # 3. an initial-condition file declaring an enormous density
    dict(name="initial-file-40000-squared",
         argv=["evolve", "grids/ou2d-transient.toml", "--set", 'evolve.initial={type="file", path="big.h5"}'],
         setup=make_large_initial("big.h5", 40000), exit=2, stderr=["evolve.initial"]),
    dict(name="initial-file-2^31-squared",
         argv=["evolve", "grids/ou2d-transient.toml", "--set", 'evolve.initial={type="file", path="big.h5"}'],
         setup=make_large_initial("big.h5", 2**31), exit=2, stderr=["evolve.initial"]),
    # 4. an expression nested 100000 deep (in the problem file: too long for argv)
    dict(name="potential-nested-100000",
         argv=["solve", "deep.toml", "--cells", "40,40"],
         setup=write_problem("deep.toml", "langevin-double-well.toml", "model", "potential", f'"{DEEP}"'),
         exit=2, stderr=["model.potential"]),
    # 5. the output is the problem file
    dict(name="output-is-problem-file", argv=["solve", "p.toml", "-o", "p.toml"],
         setup=lambda d: shutil.copy(GRIDS / "ou1d.toml", d / "p.toml"), exit=2, stderr=["problem file"]),
    dict(name="output-is-problem-file-dot-slash", argv=["solve", "p.toml", "-o", "./p.toml"],
         setup=lambda d: shutil.copy(GRIDS / "ou1d.toml", d / "p.toml"), exit=2, stderr=["problem file"]),
    # 6. the output is a device: first a private one, then /dev/null itself (only if the first held)
    dict(name="output-char-device", argv=["solve", "grids/ou1d.toml", "-o", "nulldev"],
         setup=make_char_device("nulldev"), exit=2, stderr=["regular file"], post=still_char_device("nulldev")),
    dict(name="output-dev-null", argv=["solve", "grids/ou1d.toml", "-o", "/dev/null"],
         exit=2, stderr=["regular file"], post=still_char_device("/dev/null"),
         guard=guard_previous_passed("output-char-device", "it could replace /dev/null")),
    # 7. an existing file that is not HDF5
    dict(name="output-not-hdf5", argv=["solve", "grids/ou1d.toml", "-o", "notes.txt"],
         setup=write_file("notes.txt", b"my notes\n"), exit=2, stderr=["--force"]),
    dict(name="output-not-hdf5-from-problem-file", argv=["solve", "p.toml"], default_output=False,
         setup=chain(write_file("notes.txt", b"my notes\n"),
                     write_problem("p.toml", "ou1d.toml", "output", "file", lambda d: f'"{d / "notes.txt"}"')),
         exit=2, stderr=["--force"]),
    dict(name="output-not-hdf5-force", argv=["solve", "grids/ou1d.toml", "-o", "notes.txt", "--force"],
         setup=write_file("notes.txt", b"my notes\n"), exit=0, post=is_hdf5("notes.txt")),
    # 8. an earlier result: read-only is refused, writable is replaced
    dict(name="output-read-only", argv=["solve", "grids/ou1d.toml"],
         setup=make_previous_output("out.h5", 0o444), exit=2, stderr=["read-only"]),
    dict(name="output-replace-previous", argv=["solve", "grids/ou1d.toml"],
         setup=make_previous_output("out.h5"), exit=0, post=is_hdf5("out.h5")),
    # 9. potentials that are singular or overflow on the box
    *[dict(name=f"potential-{label}-{command}",
           argv=[command, LANGEVIN, *(LW_EVOLVE if command == "evolve" else ["--cells", "40,40"]),
                 "--set", f'model.potential="{expression}"'],
           exit=2, stderr=["model.potential"])
      for label, expression in [("1/0", "1/0"), ("1/x", "1/x"), ("exp-1000x", "exp(1000*x)"), ("log-x", "log(x)")]
      for command in ("solve", "evolve")],
    # 10. an unstable linear drift
    # A = −100 on ou1d's box (D = 0.5, farthest wall 4.0 from the centre): the box state would grow
    # by e^1600 toward the walls, beyond floating point: refused. A = −0.05 grows by e^0.8: solved
    # with a warning that it is the box's state, not a stationary state of the process.
    dict(name="drift-unstable", argv=["solve", "grids/ou1d.toml", "--set", "model.drift_matrix=[[-100.0]]"],
         exit=2, stderr=["model.drift_matrix"]),
    dict(name="drift-unstable-mild", argv=["solve", "grids/ou1d.toml", "--set", "model.drift_matrix=[[-0.05]]"],
         exit=0, stderr=["no stationary state"]),
    # 11. outputs that cannot be files
    dict(name="output-empty-name", argv=["solve", "grids/ou1d.toml", "-o", ""], exit=2, max_seconds=5),
    dict(name="output-directory", argv=["solve", "grids/ou1d.toml", "-o", "somedir/"],
         setup=make_dir("somedir"), exit=2),
    dict(name="output-missing-directory", argv=["solve", "grids/ou1d.toml", "-o", "missingdir/out.h5"],
         exit=2, stderr=["does not exist"]),
    # 12. a legal 253-character name (the temporary name must not overflow NAME_MAX)
    dict(name="output-name-253", argv=["solve", "grids/ou1d.toml", "-o", "a" * 250 + ".h5"],
         exit=0, output="a" * 250 + ".h5", post=exists("a" * 250 + ".h5")),
    # 13. a frame count that cannot fit
    dict(name="evolve-frames-huge", argv=["evolve", "grids/ou2d-transient.toml", "--frames", "1000000000"],
         exit=2, stderr=[("evolve.frames", "disk")], max_seconds=10, timeout=30),
    # 14. inspect of what is not an output
    dict(name="inspect-fifo", argv=["inspect", "fifo.h5"], setup=make_fifo("fifo.h5"),
         exit=2, stderr=["regular file"], max_seconds=5, timeout=15),
    dict(name="inspect-missing", argv=["inspect", "missing.h5"], exit=2),
    dict(name="inspect-text", argv=["inspect", "notes.txt"], setup=write_file("notes.txt", b"my notes\n"), exit=2),
    # 15. problem files that cannot be read
    dict(name="problem-missing", argv=["solve", "missing.toml"], exit=2, stderr=["no such file"]),
    dict(name="problem-empty", argv=["solve", "empty.toml"], setup=write_file("empty.toml"),
         exit=2, stderr=["empty"]),
    dict(name="problem-directory", argv=["solve", "dir.toml"], setup=make_dir("dir.toml"),
         exit=2, stderr=["directory"]),
    dict(name="problem-unreadable", argv=["solve", "p.toml"],
         setup=lambda d: (shutil.copy(GRIDS / "ou1d.toml", d / "p.toml"), os.chmod(d / "p.toml", 0)),
         exit=2, stderr=["permission"], only_if=(not IS_ROOT, "running as root: chmod 000 does not stop reads")),
    # 16. indefinite matrices named by their own key, not as a diffusion tensor
    dict(name="initial-covariance-indefinite",
         argv=["evolve", "grids/ou2d-transient.toml", "--set",
               'evolve.initial={type="gaussian", mean=[0.0,0.0], covariance=[[1.0,0.0],[0.0,-1.0]]}'],
         exit=2, stderr=["evolve.initial", "covariance"], not_stderr=["diffusion tensor"]),
    dict(name="hessian-negative", argv=["solve", "grids/sgd-momentum-p1.toml", "--cells", "40,40",
                                        "--set", "model.hessian=[[-1.0]]"],
         exit=2, stderr=["model.hessian"], not_stderr=["diffusion tensor"]),
    dict(name="gradient-noise-indefinite",
         argv=["solve", "grids/sgd-momentum-p2-general-noise.toml", "--cells", "12,12,12,12",
               "--set", "model.gradient_noise=[[1.0,2.0],[2.0,1.0]]"],
         exit=2, stderr=["model.gradient_noise"]),
    # 17. a wrong length blames the key that is wrong
    dict(name="grid-lower-length", argv=["solve", "grids/ou2d.toml", "--cells", "40,40",
                                         "--set", "grid.lower=[-5.0,-5.0,-5.0]"],
         exit=2, stderr=["grid.lower"], not_stderr=["grid.upper"]),
    # 18. a negative number is a value, not an option
    dict(name="evolve-dt-negative", argv=["evolve", "grids/ou2d-transient.toml", "--dt", "-0.1"],
         exit=2, stderr=["evolve.dt"], not_stderr=["missing value"]),
    # 19. --cells errors name --cells
    dict(name="cells-zero", argv=["solve", "grids/ou2d.toml", "--cells", "0,0"],
         exit=2, stderr=["--cells"], not_stderr=["from --set"]),
    # 20. one --set, one key
    dict(name="set-newline", argv=["solve", "grids/ou2d.toml", "--set", "model.temperature=0.5\ngrid.cells=[3,3]"],
         exit=2, stderr=["newline"]),
    # 22. [solve] error_threshold (issue 9): a positive finite number; the estimate's warnings
    *[dict(name=f"error-threshold-{label}", argv=["solve", "grids/ou2d.toml", "--set", f"solve.error_threshold={value}"],
           exit=2, stderr=["solve.error_threshold"])
      for label, value in [("zero", "0"), ("negative", "-0.01"), ("string", '"small"'), ("inf", "inf"), ("nan", "nan")]],
    dict(name="error-threshold-tiny-warns", argv=["solve", "grids/ou2d.toml", "--cells", "40,40", "--set", "solve.error_threshold=1e-12"],
         exit=0, stderr=["estimated relative L1 error", "use more cells"]),
    dict(name="error-estimate-grid-too-coarse", argv=["solve", "grids/ou1d.toml", "--cells", "5"],
         exit=0, stderr=["no error estimate", "fewer than 6 cells"]),
    # 23. specular walls (issue 9): only on a phase-space position axis, with a velocity axis
    # symmetric about 0; a zero-flux wall where the density reaches it is flagged
    dict(name="specular-linear-model", argv=["solve", "grids/ou1d.toml", "--set", 'grid.boundary=["specular"]'],
         exit=2, stderr=["grid.boundary[0]", "phase-space model"]),
    dict(name="specular-velocity-axis", argv=["solve", "grids/langevin-double-well.toml", "--set", 'grid.boundary=["reflecting", "specular"]'],
         exit=2, stderr=["grid.boundary[1]", "position axis (x)"]),
    dict(name="specular-asymmetric-velocity", argv=["solve", "grids/langevin-double-well.toml", "--set", 'grid.boundary=["specular", "reflecting"]',
                                                    "--set", "grid.lower=[-3.2, -3.0]"],
         exit=2, stderr=["grid.lower[1]", "symmetric about 0"]),
    dict(name="specular-unknown-kind-lists-it", argv=["solve", "grids/ou1d.toml", "--set", 'grid.boundary=["mirror"]'],
         exit=2, stderr=["unknown boundary kind 'mirror'", "specular"]),
    dict(name="zero-flux-position-wall-warns", argv=["solve", "grids/langevin-double-well.toml", "--cells", "48,48",
                                                     "--set", "grid.lower=[-1.0, -4.0]", "--set", "grid.upper=[1.0, 4.0]"],
         exit=0, stderr=["zero-flux walls of the position axis x", 'boundary = "specular"']),
    # 24. [discretization] (issue 10): the spectral method where it exists, clear refusals elsewhere
    dict(name="spectral-hermite-solves", argv=spectral("solve", "ou2d.toml", "8,8"),
         exit=0),
    dict(name="spectral-fourier-on-linear", argv=spectral("solve", "ou2d.toml", "8,8", basis=["fourier", "hermite"]),
         exit=2, stderr=["discretization.basis[0]", "hermite basis"]),
    dict(name="spectral-chebyshev-hermite-refused", argv=spectral("solve", "ou2d.toml", "8,8", basis=["chebyshev", "hermite"]),
         exit=2, stderr=["discretization.basis[1]", "cannot be mixed"]),
    dict(name="spectral-chebyshev-solves", argv=spectral("solve", "ou2d.toml", "24,24", "-o", "cheb.h5", basis=["chebyshev", "chebyshev"]),
         exit=0, post=is_hdf5("cheb.h5")),
    dict(name="spectral-chebyshev-periodic-refused", argv=["solve", "grids/general-2d.toml", "--set", 'discretization.type="spectral"',
                                                           "--set", 'discretization.basis=["chebyshev", "fourier"]', "--modes", "9,9"],
         exit=2, stderr=["grid.boundary[0]", "fourier"]),
    dict(name="spectral-legendre-solves", argv=spectral("solve", "ou2d.toml", "24,24", basis=["legendre", "legendre"]),
         exit=0),
    dict(name="spectral-legendre-absorbing-evolves", argv=spectral("evolve", "ou2d-transient.toml", "64,64", "--set", 'grid.boundary=["absorbing", "reflecting"]',
                                                                   "--set", 'evolve.scheme="exponential"', basis=["legendre", "legendre"]),
         exit=0),
    # Too few modes for the drift toward the centre: a growing discrete mode, found up front as an
    # eigenvalue of M⁻¹L with positive real part (every true mode decays with absorbing walls) —
    # exit 1 before any frame, so no file at all.
    # A rotating drift: 12 growing modes at 1.8 ± 11.3i, far up the imaginary axis, which 30 Ritz
    # values near the real shift missed (review: exit 0 with the mass at −4e33); every eigenvalue
    # of a small operator is now computed densely.
    dict(name="spectral-legendre-absorbing-rotating-growing-mode-fails", argv=spectral("evolve", "ou2d-transient.toml", "12,12", "--set", 'grid.boundary=["absorbing", "reflecting"]',
                                                                                      "--set", "model.drift_matrix=[[0.05, 1.0], [-1.0, 0.05]]", "--set", "model.diffusion=[[0.5, 0.0], [0.0, 0.05]]",
                                                                                      basis=["legendre", "legendre"]),
         exit=1, stderr=["growing mode", "1.808", "11.29i"]),
    # No growing mode at 48² (slowest eigenvalue −1.8e-9), yet its Galerkin mass rises by 3e-5
    # in a transient: the old between-frames mass check called that a growing mode and failed.
    dict(name="spectral-legendre-absorbing-mass-transient-runs", argv=spectral("evolve", "ou2d-transient.toml", "48,48", "--set", 'grid.boundary=["absorbing", "reflecting"]',
                                                                              basis=["legendre", "legendre"]),
         exit=0),
    dict(name="spectral-legendre-absorbing-growing-mode-fails", argv=spectral("evolve", "ou2d-transient.toml", "24,24", "--set", 'grid.boundary=["absorbing", "absorbing"]',
                                                                             basis=["legendre", "legendre"]),
         exit=1, stderr=["growing mode", "absorbing walls", "eigenvalue", "more modes"]),
    dict(name="spectral-legendre-absorbing-no-stationary", argv=spectral("solve", "ou2d.toml", "24,24", "--set", 'grid.boundary=["absorbing", "reflecting"]', basis=["legendre", "legendre"]),
         exit=2, stderr=["absorbing", "no stationary state"]),
    dict(name="spectral-legendre-mixed-with-hermite", argv=spectral("solve", "ou2d.toml", "8,8", basis=["legendre", "hermite"]),
         exit=2, stderr=["discretization.basis[1]", "legendre"]),
    dict(name="spectral-legendre-periodic-refused", argv=spectral("solve", "ou2d.toml", "8,8", "--set", 'grid.boundary=["periodic", "reflecting"]', basis=["legendre", "legendre"]),
         exit=2, stderr=["legendre", "periodic"]),
    dict(name="spectral-legendre-degenerate-noise-refused", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "model.diffusion=[[0.5, 0.0], [0.0, 0.0]]", basis=["legendre", "legendre"]),
         exit=2, stderr=["discretization.basis", "positive definite diffusion"]),
    dict(name="spectral-legendre-center-refused", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "discretization.center=[0.0, 0.0]", basis=["legendre", "legendre"]),
         exit=2, stderr=["discretization.center", "hermite"]),
    dict(name="spectral-legendre-4d-too-many-coefficients", argv=spectral("solve", "ou4d.toml", "16,16,16,16", basis=["legendre"] * 4),
         exit=2, stderr=["discretization.modes", "6.55e+04 Legendre coefficients in 4-d", "4e+04"]),
    dict(name="spectral-evolve-coefficients-count-toward-disk", argv=spectral("evolve", "ou2d-transient.toml", "387,387", "--cells", "4,4", "--frames", "100000",
                                                                               "--dt", "0.00002", basis=["legendre", "legendre"]),
         exit=2, stderr=["the output needs about", "free", "modes"],
         # 112 GiB of coefficients: only where that does not fit (else the run would start writing).
         only_if=(shutil.disk_usage(tempfile.gettempdir()).free < 100 * 2**30, "more than 100 GiB free: the output would fit")),
    dict(name="spectral-legendre-delta-start-refused", argv=spectral("evolve", "ou2d-transient.toml", "16,16", "--set", 'evolve.initial={ type = "delta", at = [0.0, 0.0] }', basis=["legendre", "legendre"]),
         exit=2, stderr=["evolve.initial.type", "legendre"]),
    dict(name="spectral-langevin-ring-solves", argv=spectral("solve", RING, "33,12", basis=["fourier", "hermite"]),
         exit=0),
    dict(name="spectral-langevin-ring-evolves", argv=spectral("evolve", RING, "33,16", "--set", 'evolve={ t_end = 2.0, dt = 0.1, frames = 3, scheme = "exponential", initial = { type = "gaussian", mean = [3.0, 0.0], covariance = [[0.5, 0.0], [0.0, 1.0]] } }',
                                                              basis=["fourier", "hermite"]),
         exit=0),
    dict(name="spectral-langevin-force-not-periodic", argv=spectral("solve", RING, "33,12", "--set", 'model.potential="x^2"', basis=["fourier", "hermite"]),
         exit=2, stderr=["model.potential", "not smooth and periodic"]),
    dict(name="spectral-langevin-scale-refused", argv=spectral("solve", RING, "33,12", "--set", "discretization.scale=[1.0, 2.0]", basis=["fourier", "hermite"]),
         exit=2, stderr=["discretization.scale", "thermal"]),
    dict(name="spectral-unknown-basis", argv=spectral("solve", "ou2d.toml", "8,8", basis=["laguerre", "hermite"]),
         exit=2, stderr=["discretization.basis[0]", "unknown basis 'laguerre'", "legendre or chebyshev (bounded)"]),
    dict(name="spectral-modes-count", argv=spectral("solve", "ou2d.toml", "8", basis=["hermite", "hermite"]),
         exit=2, stderr=["--modes", "expected 2 mode counts"]),
    dict(name="spectral-modes-zero", argv=spectral("solve", "ou2d.toml", "0,8"),
         exit=2, stderr=["discretization.modes[0]"]),
    dict(name="spectral-langevin-hermite-position", argv=spectral("solve", "langevin-double-well.toml", "8,8"),
         exit=2, stderr=["discretization.basis[0]", "fourier"]),
    dict(name="spectral-langevin-walls", argv=spectral("solve", "langevin-double-well.toml", "9,8", basis=["fourier", "hermite"]),
         exit=2, stderr=["grid.boundary[0]", "periodic"]),
    dict(name="spectral-evolve-exponential", argv=spectral("evolve", "ou2d-transient.toml", "24,24", "--set", 'evolve.scheme="exponential"'),
         exit=0),
    dict(name="spectral-evolve-delta-refused", argv=spectral("evolve", "ou2d-transient.toml", "8,8", "--set", 'evolve.initial={ type = "delta", at = [0.0, 0.0] }'),
         exit=2, stderr=["evolve.initial.type", "gaussian"]),
    dict(name="spectral-evolve-uniform-refused", argv=spectral("evolve", "ou2d-transient.toml", "8,8", "--set", 'evolve.initial={ type = "uniform" }'),
         exit=2, stderr=["evolve.initial.type", "gaussian"]),
    dict(name="spectral-evolve-too-wide-start", argv=spectral("evolve", "ou2d-transient.toml", "8,8", "--set", 'evolve.initial={ type = "gaussian", mean = [0.0, 0.0], covariance = [[50.0, 0.0], [0.0, 0.1]] }'),
         exit=2, stderr=["evolve.initial.covariance", "diverges"]),
    dict(name="spectral-evolve-narrow-start-warns", argv=spectral("evolve", "ou2d-transient.toml", "8,8", "--set", 'evolve.initial={ type = "gaussian", mean = [1.0, 0.0], covariance = [[0.001, 0.0], [0.0, 0.001]] }'),
         exit=0, stderr=["estimated relative L1 error", "use more modes"]),
    dict(name="spectral-hermite-periodic-axis", argv=spectral("solve", "ou2d.toml", "8,8", "--set", 'grid.boundary=["periodic", "reflecting"]'),
         exit=2, stderr=["grid.boundary[0]", "fourier"]),
    dict(name="spectral-narrow-box-warns", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "grid.lower=[-0.5, -0.5]", "--set", "grid.upper=[0.5, 0.5]"),
         exit=0, stderr=["box misses", "of the mass", "x 0.", "y 0.", "widen [grid]"]),
    dict(name="evolve-exponential-tiny-dt", argv=["evolve", "grids/ou2d-transient.toml", "--cells", "20,20",
                                                  "--set", 'evolve.scheme="exponential"', "--dt", "1e-12"],
         exit=0),
    dict(name="spectral-unstable-drift", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "model.drift_matrix=[[-0.1, 0.0], [0.0, 1.0]]", "--set", "discretization.scale=[1, 1]"),
         exit=2, stderr=["discretization.type", "non-positive real part"]),
    dict(name="spectral-scale-too-narrow", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "discretization.scale=[0.3, 0.5]"),
         exit=2, stderr=["discretization.scale", "diverges"]),
    dict(name="spectral-scale-huge", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "discretization.scale=[1e170, 1]"),
         exit=2, stderr=["discretization.scale", "1000"]),
    dict(name="spectral-centre-far", argv=spectral("solve", "ou2d.toml", "8,8", "--set", "discretization.center=[1e308, 0]"),
         exit=2, stderr=["discretization.center", "10 stationary standard deviations"]),
    dict(name="spectral-too-many-coefficients", argv=spectral("solve", "ou4d.toml", "64,64,64,64"),
         exit=2, stderr=["discretization.modes", "1.5e5"]),
    dict(name="spectral-modes-two", argv=spectral("solve", "ou2d.toml", "2,30"),
         exit=2, stderr=["discretization.modes[0]", "degree 2"]),
    # Spectral validation studies (issue 10): the case keys refused where they do not belong.
    dict(name="validate-case-modes-and-cells", **validation_case('basis = ["hermite", "hermite"]\nmodes = [[8, 8], [16, 16]]\ncells = [[20, 20]]'),
         exit=2, stderr=["case.cells", "belongs to a grid study"]),
    dict(name="validate-case-min-decay-in-grid-study", **validation_case("cells = [[20, 20], [40, 40]]\nmin_decay = 10"),
         exit=2, stderr=["case.min_decay", "spectral study"]),
    dict(name="validate-case-modes-without-spectral", **validation_case("modes = [[8, 8], [16, 16]]"),
         exit=2, stderr=["from case.modes", 'belongs to type = "spectral"']),
    dict(name="validate-case-modes-wrong-count", **validation_case('basis = ["hermite", "hermite"]\nmodes = [[8, 8, 8]]'),
         exit=2, stderr=["discretization.modes", "2 mode counts"]),
    dict(name="validate-case-bad-override", **validation_case('set = ["no equals sign"]\nbasis = ["hermite", "hermite"]\nmodes = [[8, 8]]'),
         exit=2, stderr=["KEY=VALUE"]),
    dict(name="validate-case-unknown-basis", **validation_case('basis = ["legendre", "hermite"]\nmodes = [[8, 8]]'),
         exit=2, stderr=["discretization.basis", "legendre"]),
    # p = 3 (6-d phase space): spectral only; finite volumes say where to go, 8 axes are refused.
    dict(name="p3-finite-volume-refused", argv=["solve", "grids/sgd-momentum-p3.toml", "--set", 'discretization.type="finite-volume"',
                                                "--set", "discretization.basis=[]", "--set", "discretization.modes=[]"],
         exit=2, stderr=["model.hessian", "finite-volume grids hold at most 4 axes", 'type = "spectral"']),
    dict(name="p4-spectral-refused", argv=["solve", "grids/sgd-momentum-p3.toml",
                                           "--set", "model.hessian=[[2.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0.4]]",
                                           "--set", "model.gradient_noise=[[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]"],
         exit=2, stderr=["model.hessian", "at most 6 axes", "4×4"]),
    dict(name="linear-5d-finite-volume-refused", argv=["solve", "grids/ou1d.toml", "--set", "grid.lower=[-1, -1, -1, -1, -1]",
                                                       "--set", "grid.upper=[1, 1, 1, 1, 1]", "--set", "grid.cells=[4, 4, 4, 4, 4]"],
         exit=2, stderr=["grid.lower", "finite-volume grids have 1 to 4 axes", "spectral"]),
    # 6-d LUs fill faster than 4-d ones: 4e4 coefficients there (20⁶ modes would be 1.8e5).
    dict(name="p3-too-many-coefficients", argv=["solve", "grids/sgd-momentum-p3.toml", "--modes", "20,20,20,20,20,20"],
         exit=2, stderr=["discretization.modes", "4e4", "2 GB"]),
    dict(name="langevin-6-axes-no-spectral-hint", argv=["solve", RING, "--set", "grid.lower=[0, 0, 0, -5, -5, -5]",
                                                        "--set", "grid.upper=[6.3, 6.3, 6.3, 5, 5, 5]", "--set", "grid.cells=[4, 4, 4, 4, 4, 4]",
                                                        "--set", 'grid.boundary=["periodic", "periodic", "periodic", "reflecting", "reflecting", "reflecting"]'],
         exit=2, stderr=["grid.lower", "1 to 4 axes"], not_stderr=["spectral"]),
    dict(name="spectral-evolve-box-misses-mass-warns",
         argv=spectral("evolve", "sgd-momentum-p1-transient.toml", "24,24", "--set", 'evolve.scheme="exponential"',
                       "--set", "grid.lower=[-0.6, -6]", "--set", "grid.upper=[0.6, 6]", "--cells", "32,32"),
         exit=0, stderr=["at t = 0 (the first such frame)", "box misses up to", "theta1"]),
    dict(name="p3-spectral-solves", argv=["solve", "grids/sgd-momentum-p3.toml", "--cells", "6,6,6,6,6,6"], exit=0, not_stderr=["box misses", "zero-flux walls"]),
    dict(name="spectral-box-misses-mass-warns", argv=["solve", "grids/sgd-momentum-p3.toml", "--cells", "6,6,6,6,6,6",
                                                      "--set", "grid.lower=[-0.5, -1.9, -2.5, -7.1, -5.8, -5.4]",
                                                      "--set", "grid.upper=[1.5, 1.9, 2.5, 7.1, 5.8, 5.4]"],
         exit=0, stderr=["box misses up to 0.027 of the mass", "theta1 0.027"]),
    dict(name="zero-flux-position-wall-warns-evolve", argv=["evolve", "grids/langevin-double-well.toml", "--cells", "32,32",
                                                            "--set", "grid.lower=[-1.0, -4.0]", "--set", "grid.upper=[1.0, 4.0]",
                                                            "--set", "evolve.t_end=1.0", "--set", "evolve.dt=0.05", "--set", "evolve.frames=3",
                                                            "--set", 'evolve.initial={ type = "gaussian", mean = [0.5, 0.0], covariance = [[0.05, 0.0], [0.0, 0.5]] }'],
         exit=0, stderr=["zero-flux walls of the position axis x", 'boundary = "specular"']),
    dict(name="modes-without-spectral", argv=["solve", "grids/ou2d.toml", "--modes", "8,8"],
         exit=2, stderr=["modes", "spectral"]),
    dict(name="discretization-unknown-type", argv=["solve", "grids/ou2d.toml", "--set", 'discretization.type="wavelet"'],
         exit=2, stderr=["discretization.type", "unknown discretization 'wavelet'"]),
    # 25. state-dependent models (issue 11): D(z) checked where the scheme evaluates it, the
    # convention spelled, expressions that blow up inside the box named with their point
    dict(name="general-solves", argv=["solve", "grids/general-2d.toml", "--cells", "32,32"], exit=0),
    dict(name="general-indefinite-diffusion", argv=["solve", "grids/general-2d.toml", "--cells", "32,32",
                                                    "--set", 'model.diffusion=[["1", "1.2*cos(x + y)"], ["1.2*cos(x + y)", "1"]]'],
         exit=2, stderr=["model.diffusion", "positive semi-definite", "x = 0"]),
    dict(name="general-nonsymmetric-diffusion", argv=["solve", "grids/general-2d.toml", "--cells", "32,32",
                                                      "--set", 'model.diffusion=[["1", "0.1*sin(x)"], ["0.2*sin(x)", "1"]]'],
         exit=2, stderr=["model.diffusion[1][0]", "symmetric"]),
    dict(name="general-diffusion-not-finite", argv=["solve", "grids/power-law.toml", "--set", 'model={ type = "general", drift = ["-w"], diffusion = [["sqrt(w + 9.9)"]] }'],
         exit=2, stderr=["model.diffusion[0][0]", "nan", "w = -9.975"]),
    dict(name="general-drift-not-finite", argv=["solve", "grids/power-law.toml", "--set", 'model={ type = "general", drift = ["-log(w + 9.9)"], diffusion = [[1]] }'],
         exit=2, stderr=["model.drift[0]", "w = -9.975"]),
    # A reflecting wall carries no flux: nothing is evaluated on it, so a coefficient singular
    # exactly there is fine (the Stratonovich CIR process, σ = sqrt(2x) on [0, 6]).
    dict(name="general-singular-on-reflecting-wall-solves", argv=["solve", "grids/power-law.toml", "--set", "grid.lower=[0.0]", "--set", "grid.upper=[6.0]",
                                                                  "--set", 'model={ type = "general", drift = ["1 - w"], noise_amplitude = [["sqrt(2*w)"]], convention = "stratonovich" }'],
         exit=0),
    dict(name="general-drift-count", argv=["solve", "grids/general-2d.toml", "--set", 'model.drift=["-x"]'],
         exit=2, stderr=["model.drift", "expected 2 drift expressions"]),
    dict(name="general-unknown-name", argv=["solve", "grids/general-2d.toml", "--set", 'model.drift=["-x", "-q"]'],
         exit=2, stderr=["model.drift[1]", "q"]),
    dict(name="convention-unknown", argv=["solve", "grids/power-law.toml", "--set", 'model.convention="ito-ish"'],
         exit=2, stderr=["model.convention", "ito, stratonovich, isothermal"]),
    dict(name="general-diffusion-and-amplitude", argv=["solve", "grids/general-2d.toml", "--set", 'model.noise_amplitude=[["1", "0"], ["0", "1"]]'],
         exit=2, stderr=["model.noise_amplitude", "not both"]),
    # Under Stratonovich an indefinite D is reported as such (D is checked before the drift,
    # whose symmetric-root correction it would spoil).
    dict(name="stratonovich-indefinite-says-so", argv=["solve", "grids/general-2d.toml", "--cells", "32,32", "--set", 'model.convention="stratonovich"',
                                                       "--set", 'model.diffusion=[["1 + sin(x)", "0.5*(1 + sin(x))"], ["0.5*(1 + sin(x))", "1 + cos(y)"]]'],
         exit=2, stderr=["model.diffusion", "positive semi-definite"]),
    dict(name="general-deterministic-axis", argv=["solve", "grids/general-2d.toml", "--cells", "20,20", "--set", 'model.drift=["-sin(x)", "0"]',
                                                  "--set", 'model.diffusion=[[1.0, 0.0], [0.0, 0.0]]'],
         exit=2, stderr=["model.drift[1]", "no noise", "point mass"]),
    dict(name="general-zero-noise", argv=["solve", "grids/general-2d.toml", "--cells", "20,20", "--set", 'model.diffusion=[[0, 0], [0, 0]]'],
         exit=2, stderr=["model.diffusion", "zero everywhere"]),
    dict(name="general-small-row-indefinite", argv=["solve", "grids/general-2d.toml", "--cells", "20,20",
                                                    "--set", 'model.diffusion=[["1e6", "0"], ["0", "-1e-7"]]'],
         exit=2, stderr=["model.diffusion", "D[1][1]"]),
    dict(name="nan-is-not-dropped-by-max", argv=["solve", "grids/power-law.toml", "--set", 'model={ type = "general", drift = ["-w"], diffusion = [["max(0.5, 1 + log(w))"]] }'],
         exit=2, stderr=["model.diffusion[0][0]", "nan"]),
    dict(name="power-law-kappa-indefinite", argv=["solve", "grids/power-law-2d.toml", "--set", "model.kappa=[[1.0, 2.0], [2.0, 1.0]]"],
         exit=2, stderr=["model.kappa", "positive semi-definite"]),
    dict(name="sgd-loss-and-hessian", argv=["solve", "grids/sgd-state-dependent.toml", "--set", "model.hessian=[[1.0]]"],
         exit=2, stderr=["model.hessian", "not both"]),
    dict(name="sgd-writes-diagnostics", argv=["solve", "grids/sgd-state-dependent.toml", "-o", "sgd.h5"],
         exit=0, post=is_hdf5("sgd.h5")),
    dict(name="sgd-momentum-noise-unknown", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", 'model.noise="heavy"'],
         exit=2, stderr=["model.noise", "state-dependent"]),
    dict(name="sgd-momentum-state-dependent-spectral-refused", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", 'model.noise="state-dependent"',
                                                                     "--set", 'discretization.type="spectral"', "--set", 'discretization.basis=["hermite", "hermite"]', "--modes", "8,8"],
         exit=2, stderr=["discretization", "sgd-momentum"]),
    # 26. the heavy ball's modified equation (issue 11, item 5): a boolean, momentum β > 0, and no
    # step beyond (1 + √β)² (negative multipliers: no continuous flow).
    dict(name="sgd-momentum-modified-not-boolean", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", 'model.modified_equation="yes"'],
         exit=2, stderr=["model.modified_equation", "true or false"]),
    dict(name="sgd-momentum-modified-no-momentum", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", "model.modified_equation=true",
                                                          "--set", "model.momentum=0.0"],
         exit=2, stderr=["model.modified_equation", "β > 0"]),
    dict(name="sgd-momentum-modified-overshoot", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", "model.modified_equation=true",
                                                        "--set", "model.learning_rate=1.9"],
         exit=2, stderr=["model.modified_equation", "(1 + √β)²"]),
    dict(name="sgd-momentum-modified-small-momentum-warns", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", "model.modified_equation=true",
                                                                   "--set", "model.momentum=0.5", "--cells", "32,32", "-o", "mw.h5"],
         exit=0, stderr=["modified equation misses", "3.9 %"], post=is_hdf5("mw.h5")),
    dict(name="sgd-momentum-modified-writes", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", "model.modified_equation=true",
                                                     "--set", 'model.noise="state-dependent"', "--cells", "32,32", "-o", "me.h5"],
         exit=0, post=is_hdf5("me.h5")),
    # 27. the data's fourth moments (least-squares noise): they must be some data's, and they need
    # the state-dependent noise; sgd's state-dependent noise needs the quadratic loss.
    dict(name="sgd-momentum-fourth-moment-impossible", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", 'model.noise="state-dependent"',
                                                              "--set", "model.fourth_moment=[[3.0]]"],
         exit=2, stderr=["model.fourth_moment", "positive semi-definite"]),
    dict(name="sgd-momentum-fourth-moment-constant-noise", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", "model.fourth_moment=[[24.0]]"],
         exit=2, stderr=["model.fourth_moment", "state-dependent"]),
    dict(name="sgd-state-dependent-needs-hessian", argv=["solve", "grids/sgd-state-dependent.toml", "--set", 'model.noise="state-dependent"'],
         exit=2, stderr=["model.noise", "hessian"]),
    # 28. the Legendre Galerkin of expression models: 1-d and 2-d, a dense operator under its cap, and a
    # positive definite D at every quadrature node.
    dict(name="legendre-expression-3d-refused", argv=["solve", "grids/general-3d.toml", "--set", 'discretization.type="spectral"',
                                                      "--set", 'discretization.basis=["legendre", "legendre", "legendre"]', "--modes", "8,8,8"],
         exit=2, stderr=["discretization.basis", "1-d and 2-d"]),
    dict(name="legendre-expression-too-many-modes", argv=["solve", "grids/power-law-2d.toml", "--set", 'discretization.type="spectral"',
                                                          "--set", 'discretization.basis=["legendre", "legendre"]', "--modes", "60,60"],
         exit=2, stderr=["discretization.modes", "dense"]),
    dict(name="legendre-expression-degenerate-d", argv=["solve", "grids/sgd-momentum-p1.toml", "--set", 'model.noise="state-dependent"',
                                                        "--set", 'discretization.type="spectral"', "--set", 'discretization.basis=["legendre", "legendre"]',
                                                        "--modes", "12,12"],
         exit=2, stderr=["positive definite"]),
    dict(name="legendre-expression-writes", argv=["solve", "grids/power-law.toml", "--set", 'discretization.type="spectral"',
                                                  "--set", 'discretization.basis=["legendre"]', "--modes", "120", "-o", "pl.h5"],
         exit=0, post=is_hdf5("pl.h5")),
    # 29. the fourier basis of expression models: periodic axes only, not for a linear drift, 1-d and 2-d;
    # legendre refuses a periodic axis and points to fourier.
    dict(name="fourier-expression-on-walls", argv=["solve", "grids/power-law.toml", "--set", 'discretization.type="spectral"',
                                                   "--set", 'discretization.basis=["fourier"]', "--modes", "33"],
         exit=2, stderr=["grid.boundary[0]", "periodic", "legendre"]),
    dict(name="fourier-linear-refused", argv=["solve", "grids/ou1d.toml", "--set", 'grid.boundary=["periodic"]',
                                              "--set", 'discretization.type="spectral"', "--set", 'discretization.basis=["fourier"]', "--modes", "33"],
         exit=2, stderr=["discretization.basis", "fourier"]),
    dict(name="fourier-expression-3d-refused", argv=["solve", "grids/general-3d.toml", "--set", 'discretization.type="spectral"',
                                                     "--set", 'discretization.basis=["fourier", "fourier", "fourier"]', "--modes", "9,9,9"],
         exit=2, stderr=["discretization.basis", "1-d and 2-d"]),
    dict(name="fourier-expression-hermite-refused", argv=["solve", "grids/general-2d.toml", "--set", 'discretization.type="spectral"',
                                                          "--set", 'discretization.basis=["fourier", "hermite"]', "--modes", "9,9"],
         exit=2, stderr=["discretization.basis", "hermite"]),
    dict(name="legendre-on-periodic-axis", argv=["solve", "grids/general-2d.toml", "--set", 'discretization.type="spectral"',
                                                 "--set", 'discretization.basis=["legendre", "legendre"]', "--modes", "9,9"],
         exit=2, stderr=["grid.boundary[0]", "fourier"]),
    dict(name="legendre-expression-nan-at-cell-centre", argv=["solve", "kink.toml", "--set", 'discretization.type="spectral"',
                                                              "--set", 'discretization.basis=["legendre"]', "--modes", "20"],
         setup=write_file("kink.toml", b'[grid]\naxes = ["x"]\nlower = [-1.0]\nupper = [1.0]\ncells = [11]\n'
                                       b'[model]\ntype = "general"\ndrift = ["-x"]\ndiffusion = [["1 + sqrt(x^2)"]]\n'),
         exit=2, stderr=["not finite", "cell centre"]),
    dict(name="fourier-nonperiodic-diffusion-refused", argv=["solve", "ring.toml", "--set", 'discretization.type="spectral"',
                                                             "--set", 'discretization.basis=["fourier"]', "--modes", "33"],
         setup=write_file("ring.toml", b'[grid]\naxes = ["x"]\nlower = [0.0]\nupper = [6.283185307179586]\ncells = [64]\nboundary = ["periodic"]\n'
                                       b'[model]\ntype = "general"\ndrift = ["sin(x)"]\ndiffusion = [["1 + 0.1*x"]]\n'),
         exit=2, stderr=["fourier", "periodic", "D['x', 'x']", "finite-volume"]),
    dict(name="fourier-seam-in-drift-refused", argv=["solve", "grids/power-law.toml", "--set", 'grid.boundary=["periodic"]',
                                                     "--set", 'discretization.type="spectral"', "--set", 'discretization.basis=["fourier"]', "--modes", "65"],
         exit=2, stderr=["fourier", "periodic", "the drift along 'w'"]),
    dict(name="langevin-legendre-refused", argv=["solve", RING, "--set", 'discretization.type="spectral"',
                                                 "--set", 'discretization.basis=["fourier", "legendre"]', "--modes", "17,17"],
         exit=2, stderr=["discretization.basis", "langevin"]),
    dict(name="fourier-expression-writes", argv=["solve", "grids/general-2d.toml", "--set", 'discretization.type="spectral"',
                                                 "--set", 'discretization.basis=["fourier", "fourier"]', "--modes", "17,17", "-o", "torus.h5"],
         exit=0, post=is_hdf5("torus.h5")),
    # 21. raw terminal escapes in a title never reach the terminal
    dict(name="title-terminal-escape", argv=["solve", "esc.toml"],
         setup=write_problem("esc.toml", "ou1d.toml", "", "title", '"\\u001b[31mRED\\u001b[0m"'),
         exit=0, no_esc_stdout=True, post=no_escape_in_inspect("out.h5")),
]


def prepare_argv(case, directory):
    """Copy the grids the argv names into the run directory; return the argv to run."""
    argv = []
    for arg in case["argv"]:
        if arg.startswith("grids/") and arg.endswith(".toml"):
            name = arg[len("grids/"):]
            copy_grid(name, directory)
            arg = name
        argv.append(arg)
    command = argv[0]
    if command in ("solve", "evolve") and case.get("default_output", True) \
            and "-o" not in argv and "--output" not in argv:
        argv += ["-o", case.get("output", "out.h5")]
    return argv


def fragment_problems(stderr, fragments, forbidden):
    problems = []
    low = stderr.lower()
    for fragment in fragments:
        options = fragment if isinstance(fragment, tuple) else (fragment,)
        if not any(o.lower() in low for o in options):
            problems.append("stderr lacks " + " or ".join(repr(o) for o in options))
    for fragment in forbidden:
        if fragment.lower() in low:
            problems.append(f"stderr contains {fragment!r}")
    return problems


def run_regression(case, checks, base):
    name = case["name"]
    only_if = case.get("only_if")
    if only_if and not only_if[0]:
        Checks.skip(name, only_if[1])
        return
    guard = case.get("guard")
    reason = guard(checks) if guard else None
    if reason and reason.startswith("skip: "):
        Checks.skip(name, reason[len("skip: "):])
        return
    if reason:
        checks.record(name, [reason])
        return
    directory = Path(tempfile.mkdtemp(prefix=f"case-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:40]}-", dir=base))
    try:
        argv = prepare_argv(case, directory)
        if case.get("setup"):
            case["setup"](directory)
    except SetupError as e:
        checks.record(name, [f"set-up: {e}"])
        return
    except SkipCase as e:
        Checks.skip(name, str(e))
        return
    before = snapshot(directory)
    run = run_fpsolve(argv, directory, timeout=case.get("timeout", DEFAULT_TIMEOUT))
    problems = exit_problems(run)
    expected = case["exit"]
    if not problems and run.returncode not in (expected if isinstance(expected, tuple) else (expected,)):
        problems.append(f"expected exit {expected}, got {run.brief()}")
    if not run.timed_out:
        problems += fragment_problems(run.stderr, case.get("stderr", []), case.get("not_stderr", []))
    if case.get("max_seconds") and run.seconds > case["max_seconds"]:
        problems.append(f"took {run.seconds:.1f} s > {case['max_seconds']} s")
    if case.get("no_esc_stdout") and b"\x1b" in run.stdout:
        problems.append("stdout contains an ESC byte")
    family = output_family(case.get("output", "out.h5"), argv[0] == "evolve")
    if argv[0] in ("solve", "evolve") and "-o" in argv:
        family = output_family(argv[argv.index("-o") + 1], argv[0] == "evolve")
    succeeded = run.returncode == 0
    # A run that fails after frames were written keeps them as a partial file (SPEC: nothing is
    # lost); `keeps_partial` cases may create that family and nothing else.
    partial = [p for p in family if "partial" in p] if case.get("keeps_partial") else []
    problems += directory_problems(before, snapshot(directory),
                                   may_create=family if succeeded else partial,
                                   may_change=family if succeeded else (),
                                   temporaries_allowed=run.timed_out)
    if case.get("post"):
        problems += case["post"](directory, run)
    checks.record(name, problems)


# ---------------------------------------------------------------------------------------------
# B. Faults

def file_size_limit(limit):
    """preexec_fn: writes beyond `limit` bytes fail with EFBIG instead of killing the process."""
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return preexec


def default_signals():
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)


def disk_full(checks, base, name, grid, args, evolve):
    """Produce a good target, then rerun with a file-size limit half its size: refused or failed
    (not 0, no signal), the target byte-identical, no temporary file."""
    directory = Path(tempfile.mkdtemp(prefix=f"fault-{name}-", dir=base))
    copy_grid(grid, directory)
    command = ["evolve" if evolve else "solve", grid, *args, "-o", "out.h5", "--quiet"]
    good = run_fpsolve(command, directory)
    if good.returncode != 0:
        checks.record(name, [f"set-up run failed: {good.brief()}"])
        return
    size = (directory / "out.h5").stat().st_size
    limit = min(200_000, size // 2) if not evolve else max(size // 2, 50_000)
    before = snapshot(directory)
    run = run_fpsolve(command, directory, preexec_fn=file_size_limit(limit))
    problems = exit_problems(run, allowed=(1, 2))
    problems += directory_problems(before, snapshot(directory),
                                   may_create=[p for p in output_family("out.h5", True) if "partial" in p] if evolve else ())
    checks.record(name, problems)


def wait_for_temporary(directory, proc, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if temporaries(directory):
            return True
        time.sleep(0.02)
    return False


LONG_EVOLVE = ["evolve", "ou2d-transient.toml", "--cells", "150,150", "--frames", "200", "--dt", "0.001",
               "-o", "out.h5", "--quiet"]
SHORT_EVOLVE = ["evolve", "ou2d-transient.toml", "--cells", "40,40", "--frames", "3", "-o", "out.h5", "--quiet"]


def start_long_evolve(directory):
    return subprocess.Popen([FPSOLVE, *LONG_EVOLVE], cwd=directory, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_signals)


def sigkill_mid_write(checks, base):
    """Kill -9 while frames are being written; the next run to the same target succeeds and
    removes the stale temporary file of the dead process."""
    name = "sigkill-mid-write"
    directory = Path(tempfile.mkdtemp(prefix=f"fault-{name}-", dir=base))
    copy_grid("ou2d-transient.toml", directory)
    problems = []
    proc = start_long_evolve(directory)
    writing = wait_for_temporary(directory, proc)
    time.sleep(0.5 if writing else 1.0)
    if proc.poll() is not None:
        problems.append(f"the run ended (exit {proc.returncode}) before it could be killed")
    proc.kill()
    proc.communicate()
    if not writing:
        problems.append("no temporary file appeared while writing")
    if (directory / "out.h5").exists():
        problems.append("out.h5 exists after the killed run")
    before = snapshot(directory)
    run = run_fpsolve(SHORT_EVOLVE, directory)
    problems += exit_problems(run, allowed=(0,))
    # the killed run's temporary file may exist before; after a completed run none may remain
    problems += directory_problems({k: v for k, v in before.items() if not is_temporary(k)}, snapshot(directory),
                                   may_create=output_family("out.h5", True), may_change=output_family("out.h5", True))
    checks.record(name, problems)


def interrupt_once(directory):
    proc = start_long_evolve(directory)
    wait_for_temporary(directory, proc)
    time.sleep(1.0)
    still_running = proc.poll() is None
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, "did not stop within 30 s of SIGINT", still_running
    return proc.returncode, err.decode(errors="replace"), still_running


def partial_problems(path):
    try:
        with h5py.File(path, "r") as f:
            complete = f.attrs.get("complete")
            frames = f["density"].shape[0] if "density" in f else 0
    except Exception as e:  # noqa: BLE001 -- any failure to read is the finding
        return [f"{path.name} does not open: {e}"]
    problems = []
    if complete is None or int(np.asarray(complete).ravel()[0]) != 0:
        problems.append(f"{path.name} is not marked complete = 0 (complete = {complete!r})")
    if frames < 1:
        problems.append(f"{path.name} holds no frame")
    return problems


def sigint_twice(checks, base):
    """Two interrupted runs: exit 130 each, the first partial file kept byte for byte, the second
    under another name, the target never created, no temporary file left."""
    name = "sigint-twice"
    directory = Path(tempfile.mkdtemp(prefix=f"fault-{name}-", dir=base))
    copy_grid("ou2d-transient.toml", directory)
    problems = []
    first_digest = None
    partials_before = set()
    for attempt in (1, 2):
        code, err, was_running = interrupt_once(directory)
        if not was_running:
            problems.append(f"run {attempt} ended before SIGINT")
        if code is not None and code < 0:
            problems.append(f"run {attempt}: killed by signal {signal.Signals(-code).name}: {crash_line(err)}")
        elif code != 130:
            problems.append(f"run {attempt}: expected exit 130, got {code}: {shorten(err.strip()[:200])}")
        if (directory / "out.h5").exists():
            problems.append(f"out.h5 exists after interrupted run {attempt}")
        partials = {p.name for p in directory.glob("out.partial*.h5")}
        if attempt == 1:
            if "out.partial.h5" not in partials:
                problems.append("out.partial.h5 missing after the first interruption")
            else:
                first_digest = sha256(directory / "out.partial.h5")
                problems += partial_problems(directory / "out.partial.h5")
        else:
            if first_digest and (not (directory / "out.partial.h5").exists()
                                 or sha256(directory / "out.partial.h5") != first_digest):
                problems.append("the first out.partial.h5 was overwritten")
            new = partials - partials_before
            if not new:
                problems.append("no second partial file (out.partial*.h5) after the second interruption")
            for p in new:
                problems += partial_problems(directory / p)
        partials_before = partials
        problems += [f"temporary {t} left after run {attempt}" for t in temporaries(directory)]
    checks.record(name, problems)


def closed_streams(checks, base):
    """A closed stderr (a message to write) and a closed stdout (a summary to write) must not kill
    the process: the message is lost, the exit status stays meaningful."""
    directory = Path(tempfile.mkdtemp(prefix="fault-closed-streams-", dir=base))
    copy_grid("ou1d.toml", directory)
    problems = []
    for label, argv, expected, fd in [("stderr", ["solve", "missing.toml"], 2, 2),
                                      ("stdout", ["solve", "ou1d.toml", "-o", "out.h5"], (0, 1), 1)]:
        p = subprocess.run([FPSOLVE, *argv], cwd=directory, capture_output=True, timeout=60,
                           preexec_fn=lambda fd=fd: os.close(fd))
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if p.returncode not in allowed:
            problems.append(f"closed {label}: exit {p.returncode}, expected {allowed}")
    checks.record("closed stdout/stderr: no crash", problems)


def sigterm_during_solve(checks, base):
    """SIGTERM at several moments of a solve that replaces an earlier result: exit 143, the target
    and its sidecar both the earlier result or both the new one, no temporary left."""
    directory = Path(tempfile.mkdtemp(prefix="fault-sigterm-solve-", dir=base))
    copy_grid("ou2d.toml", directory)
    problems = []
    first = run_fpsolve(["solve", "ou2d.toml", "-o", "s.h5", "--cells", "200,200", "--quiet"], directory, timeout=60)
    problems += exit_problems(first, allowed=(0,))
    start = time.monotonic()
    full = run_fpsolve(["solve", "ou2d.toml", "-o", "t.h5", "--cells", "400,400", "--quiet"], directory, timeout=120)
    duration = time.monotonic() - start
    for fraction in (0.2, 0.6, 0.85, 0.95):
        proc = subprocess.Popen([FPSOLVE, "solve", "ou2d.toml", "-o", "s.h5", "--cells", "400,400", "--quiet"], cwd=directory,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(fraction * duration)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        if proc.returncode not in (0, 143):
            problems.append(f"at {fraction:.0%}: exit {proc.returncode}, expected 143 (or 0 if it had finished)")
        with h5py.File(directory / "s.h5", "r") as f:
            n = f["density"].shape[0]
        extent = re.search(rb'WholeExtent="0 (\d+)', (directory / "s_vtk" / "image.vti").read_bytes()[:2000])
        if not extent or int(extent.group(1)) + 1 != n:
            problems.append(f"at {fraction:.0%}: s.h5 has {n} cells along x but the sidecar {extent and extent.group(1)}")
        left = temporaries(directory)
        if left:
            problems.append(f"at {fraction:.0%}: temporaries left: {left}")
    checks.record(f"SIGTERM during solve (4 moments of a {duration:.1f} s run): consistent target and sidecar", problems + exit_problems(full, allowed=(0,)))


FAULTS = {
    "closed-streams": closed_streams,
    "sigterm-during-solve": sigterm_during_solve,
    "disk-full-solve": lambda c, b: disk_full(c, b, "disk-full-solve", "ou2d.toml", ["--cells", "300,300"], False),
    "disk-full-evolve": lambda c, b: disk_full(c, b, "disk-full-evolve", "ou2d-transient.toml",
                                               ["--cells", "80,80", "--frames", "40"], True),
    "sigkill-mid-write": sigkill_mid_write,
    "sigint-twice": sigint_twice,
}


# ---------------------------------------------------------------------------------------------
# C. Mutation fuzzer

HOSTILE_NUMBERS = ["0", "-1", "1e308", "-1e308", "nan", "inf", "1e-320", "4000000000", "3.5",
                   "1" + "0" * 40, "-0", "2147483648", "-inf", "+nan"]
AXIS_NAMES = ['"x"', '""', '"density"', '"time"', '"x y"', '"../../x"', '"v"', '"theta1"', '"é"',
              '"exp"', '"pi"', '"1x"', '"x\\u0000"']
BRACKET_REPLACEMENTS = ["", "{", "}", "[[", "]]", "(", "[", "]", '"']
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
STRING = re.compile(r'"[^"\n]*"')
# Memory and file-size safety nets for fuzzed runs, so that a runaway input cannot take the
# machine down (two runs in parallel); hitting them shows up as exit 1/2 or as a signal.
FUZZ_ADDRESS_SPACE = 8 << 30
FUZZ_FILE_SIZE = 1 << 30
LIMIT_WRAPPER = ("import os, resource, signal, sys\n"
                 "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2)\n"
                 "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]),) * 2)\n"
                 "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                 "os.execv(sys.argv[3], sys.argv[3:])\n")


def replace_span(text, start, end, new):
    return text[:start] + new + text[end:]


def pick_match(rng, pattern, text):
    found = list(pattern.finditer(text))
    return rng.choice(found) if found else None


class Mutator:
    """Mutations of a problem file held as latin-1 text (one character per byte, so any byte
    survives the round trip)."""

    def __init__(self, strings):
        self.strings = strings  # every quoted string of every grid file

    def flip_byte(self, rng, text):
        i = rng.randrange(len(text))
        return replace_span(text, i, i + 1, chr(rng.randrange(256)))

    def insert_bytes(self, rng, text):
        i = rng.randrange(len(text) + 1)
        alphabet = '[]{}="\n#,.-+e0123456789\\\x00\x1b\xff'
        new = "".join(rng.choice(alphabet) if rng.random() < 0.7 else chr(rng.randrange(256))
                      for _ in range(rng.randint(1, 4)))
        return replace_span(text, i, i, new)

    def delete_bytes(self, rng, text):
        i = rng.randrange(len(text))
        return replace_span(text, i, i + rng.randint(1, 8), "")

    def replace_number(self, rng, text):
        m = pick_match(rng, NUMBER, text)
        return replace_span(text, m.start(), m.end(), rng.choice(HOSTILE_NUMBERS)) if m else text

    def swap_string(self, rng, text):
        m = pick_match(rng, STRING, text)
        return replace_span(text, m.start(), m.end(), rng.choice(self.strings)) if m else text

    def duplicate_line(self, rng, text):
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        lines.insert(rng.randrange(len(lines) + 1), lines[i])
        return "\n".join(lines)

    def delete_line(self, rng, text):
        lines = text.split("\n")
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines)

    def replace_bracket(self, rng, text):
        positions = [i for i, c in enumerate(text) if c in "[]"]
        if not positions:
            return text
        i = rng.choice(positions)
        return replace_span(text, i, i + 1, rng.choice(BRACKET_REPLACEMENTS))

    def replace_axis_name(self, rng, text):
        line = re.search(r"^axes\s*=\s*\[(.*)\]", text, re.M)
        if not line:
            return self.swap_string(rng, text)
        names = list(STRING.finditer(text, line.start(1), line.end(1)))
        if not names:
            return text
        m = rng.choice(names)
        return replace_span(text, m.start(), m.end(), rng.choice(AXIS_NAMES))

    def long_string(self, rng, text):
        m = pick_match(rng, STRING, text)
        long = '"' + "A" * rng.choice([300, 5000, 100_000, 1_000_000]) + '"'
        return replace_span(text, m.start(), m.end(), long) if m else text

    MUTATIONS = ["flip_byte", "insert_bytes", "delete_bytes", "replace_number", "replace_number",
                 "swap_string", "duplicate_line", "delete_line", "replace_bracket", "replace_axis_name",
                 "long_string"]

    def mutate(self, rng, text):
        applied = []
        for _ in range(rng.randint(1, 3)):
            if not text:
                break
            name = rng.choice(self.MUTATIONS)
            text = getattr(self, name)(rng, text)
            applied.append(name)
        return text, applied


@dataclass
class FuzzOutcome:
    index: int
    source: str
    command: str
    mutations: list
    kind: str  # "0", "1", "2", "slow", "crash", "violation"
    problems: list
    data: bytes


def run_limited(args, cwd, timeout):
    return run_fpsolve_wrapped([sys.executable, "-c", LIMIT_WRAPPER, str(FUZZ_ADDRESS_SPACE),
                                str(FUZZ_FILE_SIZE), FPSOLVE, *args], cwd, timeout)


def run_fpsolve_wrapped(command, cwd, timeout):
    start = time.monotonic()
    try:
        p = subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return Run(p.returncode, p.stdout, p.stderr.decode(errors="replace"), time.monotonic() - start)
    except subprocess.TimeoutExpired as e:
        return Run(None, e.stdout or b"", (e.stderr or b"").decode(errors="replace"), time.monotonic() - start)


def fuzz_one(index, seed, sources, mutator, base, timeout):
    rng = random.Random(f"{seed}-{index}")
    source = rng.choice(sorted(sources))
    text, applied = mutator.mutate(rng, sources[source].decode("latin-1"))
    data = text.encode("latin-1")
    evolve = index % 5 == 4
    args = (["evolve", "problem.toml", "-o", "out.h5", "--quiet", "--frames", "3"] if evolve
            else ["solve", "problem.toml", "-o", "out.h5", "--quiet"])
    # Four runs in five solve on a coarse grid (--cells of the source's dimension): the whole file
    # is still parsed and checked as mutated (the override replaces the cell counts only after
    # parsing), but valid mutants then take milliseconds instead of seconds, so the fuzzer tries
    # thousands of inputs in its budget; every fifth keeps the mutated cells.
    if index % 5 in (1, 2, 3) and source in COARSE_CELLS:
        args += ["--cells", COARSE_CELLS[source]]
    directory = Path(tempfile.mkdtemp(prefix=f"fuzz-{index}-", dir=base))
    (directory / "problem.toml").write_bytes(data)
    before = snapshot(directory)
    run = run_limited(args, directory, timeout)
    if run.timed_out:  # killed with SIGKILL: not a failure, but the next run must clean up
        kind, problems = "slow", cleanup_after_kill(directory)
    else:
        problems = directory_problems(before, snapshot(directory), may_create=output_family("out.h5", evolve))
        if run.returncode < 0 or run.returncode not in (0, 1, 2):
            kind, problems = "crash", exit_problems(run) + problems
        else:
            kind = "violation" if problems else str(run.returncode)
    shutil.rmtree(directory, ignore_errors=True)
    return FuzzOutcome(index, source, args[0], applied, kind, problems, data)


def cleanup_after_kill(directory):
    """After a killed run, a normal run to the same target must succeed and leave no temporary."""
    copy_grid("ou1d.toml", directory)
    run = run_fpsolve(["solve", "ou1d.toml", "-o", "out.h5", "--quiet"], directory, timeout=30)
    problems = [f"clean-up run: {p}" for p in exit_problems(run, allowed=(0,))]
    problems += [f"temporary {t} left after the clean-up run" for t in temporaries(directory)]
    return problems


def grid_dimension(data):
    """d of an example problem: its grid's cell counts, or 2p for sgd-momentum's default grid."""
    problem = tomllib.loads(data.decode())
    if "cells" in problem.get("grid", {}):
        return len(problem["grid"]["cells"])
    return 2 * len(problem["model"]["hessian"])


COARSE = {1: "16", 2: "10,10", 3: "6,6,6", 4: "5,5,5,5", 6: "4,4,4,4,4,4"}
COARSE_CELLS = {p.name: COARSE[grid_dimension(p.read_bytes())] for p in sorted(GRIDS.glob("*.toml"))}


def fuzz(checks, base, seed, seconds, timeout=10.0):
    sources = {p.name: p.read_bytes() for p in sorted(GRIDS.glob("*.toml"))}
    strings = sorted({m.group(0) for data in sources.values() for m in STRING.finditer(data.decode("latin-1"))})
    mutator = Mutator(strings)
    saved = Path(tempfile.mkdtemp(prefix="fpsolve-fuzz-inputs-"))
    outcomes = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                index = next(counter)
            outcome = fuzz_one(index, seed, sources, mutator, base, timeout)
            with lock:
                outcomes.append(outcome)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(worker) for _ in range(2)]:
            future.result()
    outcomes.sort(key=lambda o: o.index)

    def save(outcome):
        path = saved / f"input-{outcome.index}-{outcome.command}-{outcome.source}"
        path.write_bytes(outcome.data)
        return path

    counts = {k: sum(o.kind == k for o in outcomes) for k in ("0", "1", "2", "slow", "crash", "violation")}
    for o in outcomes:
        if o.kind in ("crash", "violation") or (o.kind == "slow" and o.problems):
            path = save(o)
            checks.record(f"fuzz {o.kind} #{o.index} ({o.command} {o.source}, {'+'.join(o.mutations)})",
                          o.problems + [f"input saved as {path}"])
    slow = [o for o in outcomes if o.kind == "slow"]
    print(f"fuzz: {len(outcomes)} inputs, {counts['0']} exit 0, {counts['2']} refused (exit 2), "
          f"{counts['1']} exit 1, {counts['slow']} slow, {counts['crash']} crashed", flush=True)
    if counts["violation"]:
        print(f"fuzz: {counts['violation']} inputs broke the file rules (listed above)", flush=True)
    for o in slow[:3]:
        print(f"fuzz: slow #{o.index} ({o.command} {o.source}, {'+'.join(o.mutations)}): input saved as {save(o)}",
              flush=True)
    if not any(o.kind in ("crash", "violation", "slow") for o in outcomes):
        shutil.rmtree(saved, ignore_errors=True)
    summary = []
    strays = [p.name for p in base.iterdir() if not p.name.startswith(("case-", "fault-", "fuzz-"))]
    if strays:  # e.g. an axis named "../../x" that became a path
        summary.append(f"files appeared beside the run directories: {', '.join(strays[:5])}")
    if counts["crash"] or counts["violation"]:
        summary.append(f"{counts['crash']} crashed, {counts['violation']} broke the file rules")
    if not outcomes:
        summary.append("no input was run")
    checks.record(f"fuzz summary (seed {seed}, {seconds:g} s)", summary)


# ---------------------------------------------------------------------------------------------

def selected(name, only):
    return not only or any(fnmatch.fnmatchcase(name, pattern) or pattern in name for pattern in only)


def main():
    global FPSOLVE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fpsolve", default=FPSOLVE, help="the fpsolve binary")
    parser.add_argument("--only", action="append", default=[],
                        help="run only the checks whose name contains this or matches this glob (repeatable; "
                             "'fuzz' selects the fuzzer)")
    parser.add_argument("--skip-fuzz", action="store_true", help="do not run the mutation fuzzer")
    parser.add_argument("--seed", type=int, default=20261123, help="fuzzer seed")
    parser.add_argument("--fuzz-seconds", type=float, default=90.0, help="fuzzer time budget")
    options = parser.parse_args()
    FPSOLVE = os.path.abspath(options.fpsolve)
    if not os.access(FPSOLVE, os.X_OK):
        print(f"FAIL fpsolve binary ({FPSOLVE} is not executable)")
        print("0 passed, 1 failed")
        return 1

    checks = Checks()
    base = Path(tempfile.mkdtemp(prefix="fpsolve-fault-suite-"))
    try:
        for case in REGRESSIONS:
            if selected(case["name"], options.only):
                run_regression(case, checks, base)
        for name, fault in FAULTS.items():
            if selected(name, options.only):
                fault(checks, base)
        if not options.skip_fuzz and selected("fuzz", options.only):
            fuzz(checks, base, options.seed, options.fuzz_seconds)
    finally:
        for dirpath, dirnames, _ in os.walk(base):  # read-only leftovers must not stop the clean-up
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(base, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
