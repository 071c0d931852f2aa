#!/usr/bin/env python3
"""Opens fpsolve's output files with the clients users open them with (SPEC §5).

Usage: .venv/bin/python validation/check_readers.py DIR [DIR...]

Every `*.h5` file directly inside the directories is checked with
  - netCDF-C: `ncdump -h` (dimensions named once, `time` UNLIMITED for evolve files, the dimensions
    of `density` in grid-axis order) and `ncdump` of the full data; `nccopy -k classic` (stationary
    files: fixed-length text attributes) or `-k nc7` (evolve files);
  - python netCDF4: dimensions, shape, no masked values and the exact values of `density`; root
    attributes as `str`; CF `units`/`long_name`/`axis` on the coordinates and on `time`;
  - xarray with the netcdf4 and the h5netcdf engines (the same dimensions, coordinates and values),
    and cf-xarray's `ds.cf.axes` (X, Y, Z for the first three grid axes, T for time);
  - UDUNITS-2 (through libudunits2, as NCO and CDO use it) on every `units` attribute;
  - NCO `ncks -m` and CDO `cdo -s sinfon` (a 4-d grid CDO does not take is reported, not failed);
  - the CF checker `cfchecks -v 1.8` (offline, with empty standard-name tables): no error but the
    documented §4.4 one on evolve files (dimensionless model time);
  - ParaView (one pvbatch run for all files): the sidecar `NAME.pvd` beside `NAME.h5` with its `.vti`
    files in `NAME_vtk/` opens with the PVD reader; its time steps are `/time`; 1–3-d grids give one
    image whose bounds are the first and last coordinates of axis 0 (X), 1 (Y), 2 (Z), whose point
    arrays `density`, `current` (3 components, zero-padded), `velocity`, `potential` equal the h5
    datasets (last frame); a stream tracer on `current` runs on 2-d grids (Point Cloud seeds in the
    image plane: the default ball of seeds lies off the plane of a 2-d image, so it is only
    reported); 4-d grids give ≥ 6 marginal blocks, each integrating to the mass and equal to the
    marginal of the h5 density. The raw appended data of every .vti must start with VTK's '_'.

Prints one line per check ('ok   name' / 'FAIL name (detail)') and closes with 'N passed, N failed';
exits 1 on any failure or when no .h5 file was found.
"""
import ctypes
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import Checks  # noqa: E402

TOLERANCE = 1e-12          # relative, ParaView values and time steps against the h5 file
MARGINAL_TOLERANCE = 1e-9  # integrals and values of the 4-d marginals
TOOL_TIMEOUT = 300         # seconds, one external tool on one file
PVBATCH_TIMEOUT = 900      # seconds, the one pvbatch run


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def tool(arguments, stdout=subprocess.PIPE):
    """Runs an external tool; returns (exit status, stdout text, stderr text)."""
    try:
        result = subprocess.run(arguments, stdout=stdout, stderr=subprocess.PIPE, timeout=TOOL_TIMEOUT)
    except FileNotFoundError:
        return 127, "", f"{arguments[0]} is not installed"
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {TOOL_TIMEOUT} s"
    out = result.stdout.decode(errors="replace") if isinstance(result.stdout, bytes) else ""
    return result.returncode, out, result.stderr.decode(errors="replace")


def relative_difference(actual, expected):
    """max |actual − expected| / max |expected|, NaN where exactly one of them is NaN → inf."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return math.inf
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    if np.any(nan_a != nan_e):
        return math.inf
    finite = ~nan_e
    if not np.any(finite):
        return 0.0
    scale = max(float(np.max(np.abs(expected[finite]))), 1e-300)
    return float(np.max(np.abs(actual[finite] - expected[finite]))) / scale


# ---------------------------------------------------------------------------------------------
# What h5py says the file is: the reference every other reader is compared with.

class Expected:
    def __init__(self, path, label=None):
        self.path = path
        self.name = label or path.name
        self.stem = path.stem
        with h5py.File(path, "r") as f:
            if "density" not in f:
                raise ValueError("no /density dataset")
            density = f["density"]
            names = []
            for k in range(density.ndim):
                if len(density.dims[k]) == 0:
                    raise ValueError(f"density dimension {k} has no dimension scale attached")
                names.append(density.dims[k][0].name.lstrip("/"))
            self.evolve = names[0] == "time"
            self.dimensions = tuple(names)
            self.axes = names[1:] if self.evolve else names
            self.d = len(self.axes)
            self.shape = density.shape
            self.coordinates = {a: np.asarray(f[a][...]) for a in self.axes}
            self.times = np.asarray(f["time"][...]) if self.evolve else None
            last = (-1,) if self.evolve else ()
            self.density = np.asarray(density[last] if last else density[...])
            self.density_all = np.asarray(density[...])

            def field(name):
                return np.asarray(f[name][last] if last else f[name][...]) if name in f else None

            self.current = [field(f"current_{a}") for a in self.axes]
            self.velocity = [field(f"velocity_{a}") for a in self.axes]
            self.potential = field("potential")
            self.has_current = all(c is not None for c in self.current)
            self.has_velocity = all(v is not None for v in self.velocity)
            self.mass_last = float(np.asarray(f["mass"][...]).reshape(-1)[-1]) if (self.evolve and "mass" in f) else 1.0
            complete = f.attrs.get("complete")
            self.complete = None if complete is None else int(np.asarray(complete).reshape(-1)[0])
            self.spectral = "spectral_coefficients" in f
            model = f.attrs.get("model_type")
            self.model_type = model.decode() if isinstance(model, bytes) else (str(model) if model is not None else None)
            self.datasets = {}
            f.visititems(lambda n, o: self.datasets.__setitem__(n, o.shape) if isinstance(o, h5py.Dataset) else None)
        self.spacing = [float(c[1] - c[0]) if len(c) > 1 else 1.0 for c in (self.coordinates[a] for a in self.axes)]
        self.partial = ".partial" in self.name


# ---------------------------------------------------------------------------------------------
# netCDF-C command-line tools

def parse_ncdump_header(text):
    """(list of (dimension, length-or-'UNLIMITED')), {variable: (dimensions)} from `ncdump -h`."""
    dimensions, variables, section = [], {}, None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("dimensions:", "variables:", "data:") or stripped.startswith("// global attributes") \
                or stripped.startswith("group:"):
            section = stripped.rstrip(":")
            continue
        if section == "dimensions":
            match = re.match(r"^(\S+)\s*=\s*(UNLIMITED|\d+)\s*;", stripped)
            if match:
                dimensions.append((match.group(1), match.group(2)))
        elif section == "variables":
            match = re.match(r"^[A-Za-z0-9_ ]+?\s+([^\s(]+)\s*(?:\(([^)]*)\))?\s*;$", stripped)
            if match and ":" not in stripped.split("=")[0]:
                dims = tuple(x.strip() for x in match.group(2).split(",")) if match.group(2) else ()
                variables[match.group(1)] = dims
    return dimensions, variables


def classic_model_obstacles(path, limit=6):
    """Attributes and datasets whose types the netCDF classic data model lacks (64-bit and unsigned
    integers, variable-length strings), to say why nccopy -k classic/nc7 refused a file."""
    found = []

    def types(name, item):
        for key in item.attrs:
            dtype = item.attrs.get_id(key).dtype
            info = h5py.check_string_dtype(dtype)
            if info is not None and info.length is None:
                found.append(f"{name}@{key} (variable-length string)")
            elif dtype.kind == "u" or (dtype.kind == "i" and dtype.itemsize > 4):
                found.append(f"{name}@{key} ({dtype})")
        if isinstance(item, h5py.Dataset):
            dtype = item.dtype
            info = h5py.check_string_dtype(dtype)
            if (info is not None and info.length is None) or dtype.kind == "u" or \
                    (dtype.kind == "i" and dtype.itemsize > 4):
                found.append(f"{name} ({dtype})")

    with h5py.File(path, "r") as f:
        types("/", f)
        f.visititems(lambda name, item: types(name, item))
    return ", ".join(found[:limit]) + (f" and {len(found) - limit} more" if len(found) > limit else "")


def check_netcdf_c(checks, e, scratch):
    label = e.name
    status, out, err = tool(["ncdump", "-h", str(e.path)])
    if not checks.check(f"{label}: ncdump -h", status == 0, "" if status == 0 else f"exit {status}: {one_line(err)}"):
        return
    dimensions, variables = parse_ncdump_header(out)

    def dimension_section():
        names = [n for n, _ in dimensions]
        repeated = sorted({n for n in names if names.count(n) > 1})
        problems = []
        if repeated:
            problems.append(f"named more than once: {repeated}")
        if e.evolve:
            kind = dict(dimensions).get("time")
            if kind != "UNLIMITED":
                problems.append(f"time is {kind!r}, not UNLIMITED")
        phony = [n for n in names if n.startswith("phony_dim")]
        detail = "; ".join(problems) if problems else ", ".join(f"{n} = {k}" for n, k in dimensions)
        if phony and not problems:
            detail += f"; datasets without dimension scales give {phony}"
        return not problems, detail

    checks.run(f"{label}: ncdump dimensions", dimension_section)
    checks.check(f"{label}: ncdump density dimensions", variables.get("density") == e.dimensions,
                 f"ncdump: {variables.get('density')}, expected {e.dimensions}")
    status, _, err = tool(["ncdump", str(e.path)], stdout=subprocess.DEVNULL)
    checks.check(f"{label}: ncdump (full data)", status == 0, "" if status == 0 else f"exit {status}: {one_line(err)}")

    kind = "nc7" if e.evolve else "classic"
    copy = scratch / f"nccopy-{e.stem}.nc"
    status, _, err = tool(["nccopy", "-k", kind, str(e.path), str(copy)])
    if status != 0:
        obstacles = classic_model_obstacles(e.path)
        err = one_line(err) + (f"; not in the classic model: {obstacles}" if obstacles else "")
    checks.check(f"{label}: nccopy -k {kind}", status == 0, "" if status == 0 else f"exit {status}: {err}")
    copy.unlink(missing_ok=True)

    status, _, err = tool(["ncks", "-m", str(e.path)], stdout=subprocess.DEVNULL)
    checks.check(f"{label}: ncks -m", status == 0, "" if status == 0 else f"exit {status}: {one_line(err)}")

    status, out, err = tool(["cdo", "-s", "sinfon", str(e.path)])
    listed = re.search(r":\s*density\s*$", out, re.MULTILINE) is not None
    said = one_line(" ".join(sorted({line.split("!")[0] for line in err.splitlines() if "density" in line})) or err, 200)
    if e.d >= 4:
        checks.check(f"{label}: cdo sinfon", True,
                     f"{e.d}-d, reported only: exit {status}, density {'listed' if listed else 'not listed'}"
                     + (f"; cdo: {said}" if said else ""))
    else:
        checks.check(f"{label}: cdo sinfon", status == 0 and listed,
                     "" if status == 0 and listed else f"exit {status}, density {'listed' if listed else 'not listed'}"
                     + (f"; cdo: {said}" if said else ""))


# ---------------------------------------------------------------------------------------------
# python netCDF4

def check_netcdf4(checks, e):
    import netCDF4
    label = e.name
    try:
        dataset = netCDF4.Dataset(str(e.path))
    except Exception as error:  # noqa: BLE001
        checks.check(f"{label}: netCDF4 opens", False, f"{type(error).__name__}: {one_line(error)}")
        return
    with dataset:
        def density():
            variable = dataset.variables["density"]
            values = variable[...]
            problems = []
            if tuple(variable.dimensions) != e.dimensions:
                problems.append(f"dimensions {variable.dimensions}, expected {e.dimensions}")
            if tuple(variable.shape) != tuple(e.shape):
                problems.append(f"shape {variable.shape}, h5py {e.shape}")
            masked = int(np.ma.count_masked(values))
            if masked:
                problems.append(f"{masked} masked values")
            if not problems and not np.array_equal(np.ma.getdata(values), e.density_all):
                problems.append("values differ from h5py's")
            return not problems, "; ".join(problems)

        checks.run(f"{label}: netCDF4 density", density)

        def root_attributes():
            problems = []
            for key in ("title", "problem", "Conventions", "model_type", "fpsolve_version"):
                if key not in dataset.ncattrs():
                    problems.append(f"{key} missing")
                elif not isinstance(dataset.getncattr(key), str):
                    problems.append(f"{key} is {type(dataset.getncattr(key)).__name__}")
            if "Conventions" in dataset.ncattrs() and dataset.getncattr("Conventions") != "CF-1.8":
                problems.append(f"Conventions = {dataset.getncattr('Conventions')!r}")
            return not problems, "; ".join(problems)

        checks.run(f"{label}: netCDF4 root attributes", root_attributes)

        def coordinates():
            problems = []
            for k, axis in enumerate(e.axes):
                if axis not in dataset.variables:
                    problems.append(f"{axis}: no variable")
                    continue
                variable = dataset.variables[axis]
                attributes = variable.ncattrs()
                for key in ("units", "long_name"):
                    if key not in attributes:
                        problems.append(f"{axis}: no {key}")
                if k < 3:
                    value = variable.getncattr("axis") if "axis" in attributes else None
                    if value != "XYZ"[k]:
                        problems.append(f"{axis}: axis = {value!r}, expected {'XYZ'[k]!r}")
                elif "axis" in attributes:
                    problems.append(f"{axis}: axis = {variable.getncattr('axis')!r} on a fourth axis")
                if not np.array_equal(np.ma.getdata(variable[...]), e.coordinates[axis]):
                    problems.append(f"{axis}: values differ from h5py's")
            if e.evolve:
                variable = dataset.variables.get("time")
                if variable is None:
                    problems.append("time: no variable")
                else:
                    if "units" not in variable.ncattrs():
                        problems.append("time: no units")
                    if ("axis" not in variable.ncattrs()) or variable.getncattr("axis") != "T":
                        problems.append(f"time: axis = {variable.getncattr('axis') if 'axis' in variable.ncattrs() else None!r}")
            return not problems, "; ".join(problems)

        checks.run(f"{label}: netCDF4 coordinate attributes", coordinates)

        if e.evolve:
            def series():
                problems = []
                frames = len(e.times)
                names = ["mass", "min_density"] + [f"mean_{a}" for a in e.axes]
                names += sorted(n for n in dataset.variables if n.startswith("covariance_"))
                if not any(n.startswith("covariance_") for n in dataset.variables):
                    problems.append("no covariance_<a>_<b> series")
                for n in names:
                    variable = dataset.variables.get(n)
                    if variable is None:
                        problems.append(f"{n} missing")
                    elif tuple(variable.dimensions) != ("time",) or variable.shape != (frames,):
                        problems.append(f"{n}{variable.dimensions} shape {variable.shape}")
                return not problems, "; ".join(problems) or f"{len(names)} series of {frames} frames"

            checks.run(f"{label}: netCDF4 per-frame series", series)
            expected_complete = 0 if e.partial else 1
            checks.check(f"{label}: complete attribute", e.complete == expected_complete,
                         f"complete = {e.complete}, expected {expected_complete}")

        matrices = [n for n in dataset.variables if n.endswith("_covariance") or n == "stationary_mean"]
        if matrices:
            def matrix_shapes():
                problems = []
                for n in matrices:
                    # A matrix over the grid's axes is d × d, one over the parameters (sgd-momentum's
                    # iterate covariances) p × p = d/2 × d/2: the dimension names say which.
                    size = e.d // 2 if dataset.variables[n].dimensions[0].startswith("parameter") else e.d
                    want = (e.d,) if n.endswith("_mean") else (size, size)
                    variable = dataset.variables[n]
                    if tuple(variable.shape) != want:
                        problems.append(f"{n} shape {variable.shape}{variable.dimensions}, expected {want}")
                return not problems, "; ".join(problems) or ", ".join(matrices)

            checks.run(f"{label}: netCDF4 matrices", matrix_shapes)

        if e.model_type == "sgd-momentum" and not e.evolve:
            def sgd_datasets():
                problems = []
                allowed = set(e.axes) | ({"time"} if e.evolve else set())
                # Kunin's modified loss exists only when Σ = σ²H (the sgd-momentum case with
                # isotropic noise in H's metric); with a general or state-dependent Σ, or the modified
                # equation, fpsolve writes no /modified_loss.
                h = np.asarray(dataset.variables["hessian"][:]) if "hessian" in dataset.variables else None
                sigma = np.asarray(dataset.variables["gradient_noise"][:]) if "gradient_noise" in dataset.variables else None
                constant = (str(getattr(dataset, "noise", "constant")) == "constant"
                            and str(getattr(dataset, "continuous_model", "Kunin")).startswith("Kunin"))
                proportional = (constant and h is not None and sigma is not None
                                and np.allclose(sigma, np.trace(sigma) / np.trace(h) * h, rtol=0, atol=1e-12 * np.abs(sigma).max()))
                for n in ("marginal_theta", "marginal_v") + (("modified_loss",) if proportional else ()):
                    variable = dataset.variables.get(n)
                    if variable is None:
                        problems.append(f"{n} missing")
                        continue
                    extra = [x for x in variable.dimensions if x not in allowed]
                    if extra:
                        problems.append(f"{n} has dimensions {variable.dimensions}")
                    variable[...]
                return not problems, "; ".join(problems)

            checks.run(f"{label}: netCDF4 sgd-momentum datasets", sgd_datasets)

        def units():
            problems, seen = [], 0
            for n, variable in dataset.variables.items():
                if "units" not in variable.ncattrs():
                    continue
                seen += 1
                value = variable.getncattr("units")
                problem = units_problem(value)
                if problem:
                    problems.append(f"{n}: {value!r} {problem}")
            return not problems, "; ".join(problems) or f"{seen} units attributes, {UDUNITS.how}"

        checks.run(f"{label}: UDUNITS units", units)


class Udunits:
    """Parses unit strings with libudunits2 (the library NCO and CDO use), if it is there."""

    def __init__(self):
        self.system = None
        self.how = "regular expression only (libudunits2 not found)"
        try:
            lib = ctypes.CDLL("libudunits2.so.0")
            lib.ut_read_xml.restype = ctypes.c_void_p
            lib.ut_read_xml.argtypes = [ctypes.c_char_p]
            lib.ut_parse.restype = ctypes.c_void_p
            lib.ut_parse.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
            lib.ut_free.argtypes = [ctypes.c_void_p]
            lib.ut_set_error_message_handler.restype = ctypes.c_void_p
            lib.ut_set_error_message_handler.argtypes = [ctypes.c_void_p]
            lib.ut_set_error_message_handler(ctypes.cast(lib.ut_ignore, ctypes.c_void_p))
            system = lib.ut_read_xml(None)
            if system:
                self.lib, self.system = lib, system
                self.how = "parsed by libudunits2"
        except OSError:
            pass

    def parses(self, text):
        if self.system is None:
            return True
        unit = self.lib.ut_parse(self.system, text.encode(), 0)  # 0: UT_ASCII
        if unit:
            self.lib.ut_free(unit)
        return bool(unit)


UDUNITS = Udunits()
UNIT_PATTERN = re.compile(r"^[A-Za-z0-9 .*/^+-]+$")
NOT_UNITS = re.compile(r"unit|temperature|arbitrary|none|dimensionless|n/a|same", re.IGNORECASE)


def units_problem(value):
    if not isinstance(value, str):
        return f"is {type(value).__name__}, not a string"
    if value == "1":
        return ""
    if not value.strip():
        return "is empty"
    if not UNIT_PATTERN.match(value) or NOT_UNITS.search(value):
        return "is not a plain UDUNITS expression"
    if not UDUNITS.parses(value):
        return "does not parse with UDUNITS-2"
    return ""


# ---------------------------------------------------------------------------------------------
# xarray (both engines) and cf-xarray

# The CF checker (cfchecker, the reference implementation of the CF conventions' checks) wants the
# standard-name, area-type and region tables, which it downloads; fpsolve uses none of their
# entries (no standard_name attributes), so empty local tables serve and the check runs offline.
CF_TABLES = {
    "standard-names.xml": "<standard_name_table><version_number>0</version_number><last_modified>2024-01-01</last_modified></standard_name_table>",
    "area-types.xml": "<area_type_table><version_number>0</version_number><date>2024-01-01</date></area_type_table>",
    "regions.xml": "<standardized_region_list><version_number>0</version_number><date>2024-01-01</date></standardized_region_list>",
}
# The one CF finding accepted, on evolve files: §4.4 wants a time coordinate's units to be
# "<unit> since <date>". fpsolve's time is the model's dimensionless time (units "1", axis "T"):
# a reference date would be false, and would make xarray decode the axis into calendar dates.
CF_ACCEPTED_ON_EVOLVE = ("(4.4): Invalid units and/or reference time",)


def check_cf(checks, e, scratch):
    """cfchecks -v 1.8 on a copy named .nc (it refuses other suffixes): no ERROR or FATAL line but
    the accepted one; warnings (the recommended T, Z, Y, X dimension order) are reported."""
    def run():
        tables = scratch / "cf-tables"
        if not tables.exists():
            tables.mkdir()
            for name, text in CF_TABLES.items():
                (tables / name).write_text('<?xml version="1.0"?>\n' + text + "\n")
        copy = scratch / (e.stem + ".nc")
        copy.write_bytes(e.path.read_bytes())
        checker = Path(sys.executable).parent / "cfchecks"
        p = subprocess.run([str(checker), "-v", "1.8", "-s", str(tables / "standard-names.xml"),
                            "-a", str(tables / "area-types.xml"), "-r", str(tables / "regions.xml"), str(copy)],
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        copy.unlink()
        lines = p.stdout.splitlines()
        errors = [l for l in lines if l.startswith(("ERROR:", "FATAL:"))
                  and not (e.evolve and any(a in l for a in CF_ACCEPTED_ON_EVOLVE))]
        warnings = sorted({l for l in lines if l.startswith("WARN:")})
        finished = any("ERRORS detected" in l for l in lines)
        detail = f"{len(warnings)} kinds of warning: {'; '.join(warnings)[:200]}" if warnings else "no warnings"
        if not finished:
            return False, one_line(p.stdout + p.stderr)
        return not errors, ("; ".join(errors) if errors else detail)

    checks.run(f"{e.name}: CF-1.8 checker (cfchecks)", run)


def check_xarray(checks, e):
    import xarray as xr
    label = e.name
    opened = {}
    for engine in ("netcdf4", "h5netcdf"):
        def one(engine=engine):
            ds = xr.open_dataset(e.path, engine=engine)
            opened[engine] = ds
            problems = []
            density = ds["density"]
            if tuple(density.dims) != e.dimensions:
                problems.append(f"dims {density.dims}, expected {e.dimensions}")
            if tuple(density.shape) != tuple(e.shape):
                problems.append(f"shape {density.shape}, h5py {e.shape}")
            for axis in list(e.axes) + (["time"] if e.evolve else []):
                if axis not in ds.coords:
                    problems.append(f"{axis} is not a coordinate")
                    continue
                values = ds[axis].values
                want = e.times if axis == "time" else e.coordinates[axis]
                if not np.issubdtype(values.dtype, np.number):
                    problems.append(f"{axis} decoded as {values.dtype} (units {ds[axis].encoding.get('units')!r})")
                elif not np.array_equal(values, want):
                    problems.append(f"{axis} values differ from h5py's")
            return not problems, "; ".join(problems)

        checks.run(f"{label}: xarray engine={engine}", one)

    def agree():
        if len(opened) < 2:
            return False, "an engine did not open the file"
        a = opened["netcdf4"]["density"].values
        b = opened["h5netcdf"]["density"].values
        same = a.shape == b.shape and np.array_equal(a, b) and np.array_equal(b, e.density_all)
        return same, "" if same else "density differs between the engines or from h5py"

    checks.run(f"{label}: xarray engines agree", agree)

    def cf_axes():
        import cf_xarray  # noqa: F401 — registers the .cf accessor
        ds = opened.get("h5netcdf") or opened.get("netcdf4") or xr.open_dataset(e.path, engine="h5netcdf")
        found = {k: sorted(v) for k, v in ds.cf.axes.items()}
        want = {"XYZ"[k]: [a] for k, a in enumerate(e.axes[:3])}
        if e.evolve:
            want["T"] = ["time"]
        return found == want, f"cf.axes = {found}" + ("" if found == want else f", expected {want}")

    checks.run(f"{label}: cf-xarray axes", cf_axes)
    for ds in opened.values():
        ds.close()


# ---------------------------------------------------------------------------------------------
# ParaView sidecar

def sidecar_structure(e):
    """Reads NAME.pvd and the heads of its .vti files. Returns (problems, unprefixed, files, parts,
    missing): the layout problems, the .vti files whose appended data lacks the leading '_', how many
    .vti files there are, parts = [(part, name)] in part order and how many listed files are missing. Raises when NAME.pvd cannot be read."""
    pvd = e.path.with_suffix(".pvd")
    folder = e.path.parent / f"{e.stem}_vtk"
    root = ElementTree.parse(pvd).getroot()
    problems, unprefixed = [], []
    if root.tag != "VTKFile" or root.get("type") != "Collection":
        problems.append(f"root is <{root.tag} type={root.get('type')!r}>, not a VTK Collection")
    entries = root.findall("./Collection/DataSet")
    if not entries:
        problems.append("no DataSet entries")
    parts = {}
    checked = set()
    missing = 0
    for entry in entries:
        file = entry.get("file", "")
        if not file or os.path.isabs(file):
            problems.append(f"file {file!r} is not a relative path")
            continue
        target = (pvd.parent / file).resolve()
        if target.parent != folder.resolve():
            problems.append(f"{file} is not in {folder.name}/")
        if target.suffix != ".vti":
            problems.append(f"{file} is not a .vti file")
        if not target.exists():
            problems.append(f"{file} missing")
            missing += 1
        elif target not in checked:
            checked.add(target)
            with open(target, "rb") as handle:
                head = handle.read(65536)
            if not re.search(rb"<VTKFile[^>]*type=\"ImageData\"", head):
                problems.append(f"{file} is not VTK XML ImageData")
            appended = re.search(rb"<AppendedData[^>]*>", head)
            if appended:
                # VTK skips the whitespace after the tag, then one character it takes for the '_'
                # (warning when it is not); without the '_' the first byte of the data is taken for
                # it, or eaten as whitespace when it is one (a header 0x…20: 100 doubles = 800 bytes).
                rest = head[appended.end():appended.end() + 64]
                first = rest.lstrip(b" \t\r\n")[:1]
                if first != b"_":
                    unprefixed.append(f"{file} (after the tag: {rest[:4]!r})")
        part = int(entry.get("part", "0") or 0)
        parts.setdefault(part, entry.get("name") or Path(file).stem)
    if e.d >= 4 and len(parts) < 6:
        problems.append(f"{len(parts)} parts, expected ≥ 6 marginals")
    if len(problems) > 5:
        problems = problems[:5] + [f"and {len(problems) - 5} more"]
    return problems, unprefixed, len(checked), sorted(parts.items()), missing


PVBATCH_SCRIPT = r'''
import json, sys, traceback
import numpy as np
from paraview.simple import OpenDataFile, StreamTracer, Delete
from paraview import servermanager
from vtkmodules.util.numpy_support import vtk_to_numpy

jobs = json.load(open(sys.argv[1]))
out = sys.argv[2]

def leaves(data):
    if data.IsA("vtkCompositeDataSet"):
        iterator = data.NewIterator()
        iterator.InitTraversal()
        while not iterator.IsDoneWithTraversal():
            yield iterator.GetCurrentDataObject()
            iterator.GoToNextItem()
    else:
        yield data

for job in jobs:
    result = {"id": job["id"]}
    try:
        reader = OpenDataFile(job["pvd"])
        if reader is None:
            raise RuntimeError("OpenDataFile found no reader")
        result["reader"] = reader.GetXMLName()
        result["reader_class"] = reader.GetClientSideObject().GetClassName()
        values = reader.TimestepValues
        try:
            times = [float(t) for t in values]
        except TypeError:
            times = [] if values is None else [float(values)]
        result["times"] = times
        last = times[-1] if times else None
        if last:
            reader.UpdatePipeline(last)
        else:
            reader.UpdatePipeline()
        data = servermanager.Fetch(reader)
        result["data_class"] = data.GetClassName()
        blocks = []
        for b, leaf in enumerate(leaves(data)):
            block = {"class": leaf.GetClassName(), "bounds": list(leaf.GetBounds()), "arrays": {}}
            if leaf.IsA("vtkImageData"):
                block["dimensions"] = list(leaf.GetDimensions())
                block["origin"] = list(leaf.GetOrigin())
                block["spacing"] = list(leaf.GetSpacing())
            points = leaf.GetPointData()
            for i in range(points.GetNumberOfArrays()):
                array = points.GetArray(i)
                if array is None:
                    continue
                name = array.GetName()
                file = f"{out}/{job['id']}_{b}_{i}.npy"
                np.save(file, vtk_to_numpy(array))
                block["arrays"][name] = {"components": array.GetNumberOfComponents(), "npy": file,
                                         "type": array.GetDataTypeAsString()}
            blocks.append(block)
        result["blocks"] = blocks
        if job["stream"]:
            tracer = StreamTracer(Input=reader, SeedType="Point Cloud")
            tracer.Vectors = ["POINTS", "current"]
            tracer.UpdatePipeline(last) if last else tracer.UpdatePipeline()
            result["stream_point_cloud"] = tracer.GetDataInformation().GetNumberOfPoints()
            Delete(tracer)
            # The default cloud is a ball around the centre: off the plane of a 2-d image but for
            # a null set. The same cloud squeezed onto the plane, a quarter of the way across X:
            b = reader.GetDataInformation().GetBounds()
            tracer = StreamTracer(Input=reader, SeedType="Point Cloud")
            tracer.Vectors = ["POINTS", "current"]
            tracer.SeedType.Center = [b[0] + 0.25 * (b[1] - b[0]), 0.5 * (b[2] + b[3]), 0.5 * (b[4] + b[5])]
            tracer.SeedType.Radius = 0.0
            tracer.SeedType.NumberOfPoints = 10
            tracer.UpdatePipeline(last) if last else tracer.UpdatePipeline()
            result["stream_plane_cloud"] = tracer.GetDataInformation().GetNumberOfPoints()
            Delete(tracer)
        Delete(reader)
    except Exception:
        result["error"] = traceback.format_exc().strip().splitlines()[-1]
    print("CHECK_READERS_RESULT " + json.dumps(result), flush=True)
'''


def run_pvbatch(jobs, scratch):
    """One pvbatch run for every job; returns ({id: result}, note on failure)."""
    if not jobs:
        return {}, ""
    script = scratch / "paraview_checks.py"
    script.write_text(PVBATCH_SCRIPT)
    (scratch / "jobs.json").write_text(json.dumps(jobs))
    arrays = scratch / "arrays"
    arrays.mkdir(exist_ok=True)
    try:
        result = subprocess.run(["pvbatch", "--force-offscreen-rendering", str(script), str(scratch / "jobs.json"),
                                 str(arrays)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                timeout=PVBATCH_TIMEOUT)
    except FileNotFoundError:
        return {}, "pvbatch is not installed"
    except subprocess.TimeoutExpired:
        return {}, f"pvbatch timed out after {PVBATCH_TIMEOUT} s"
    results = {}
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith("CHECK_READERS_RESULT "):
            entry = json.loads(line[len("CHECK_READERS_RESULT "):])
            results[entry["id"]] = entry
    note = "" if result.returncode == 0 else \
        f"pvbatch exit {result.returncode}: {one_line(result.stderr.decode(errors='replace')[-400:])}"
    return results, note


def vtk_field(block, name):
    info = block["arrays"].get(name)
    return None if info is None else (np.load(info["npy"]), info)


def to_h5_order(values, shape):
    """VTK point order (axis 0 fastest) → C order with axis 0 first."""
    return np.asarray(values).reshape(tuple(reversed(shape))).transpose()


def marginal_axes(name, axes):
    """Axis indices named after 'marginal_' in a part name such as marginal_theta1-v1 (fpsolve
    joins axis names with '-') or marginal_theta1_v1; [] when it cannot be read."""
    start = name.find("marginal_")
    if start < 0:
        return []
    text, position, found = name[start + len("marginal_"):], 0, []
    ordered = sorted(range(len(axes)), key=lambda k: -len(axes[k]))
    while position < len(text):
        for k in ordered:
            a = axes[k]
            end = position + len(a)
            if text.startswith(a, position) and (end == len(text) or text[end] in "-_."):
                found.append(k)
                position = end + 1
                break
        else:
            break
    return found


def check_paraview(checks, e, result, parts):
    label = f"{e.name}: ParaView"
    if "error" in result:
        checks.check(f"{label} opens {e.stem}.pvd", False, result["error"])
        return
    reader_ok = result.get("reader") == "PVDReader"
    checks.check(f"{label} reader", reader_ok, f"{result.get('reader')} ({result.get('reader_class')})")

    times = result.get("times", [])
    if e.evolve:
        match = len(times) == len(e.times) and relative_difference(times, e.times) <= TOLERANCE
        checks.check(f"{label} time steps", match,
                     "" if match else f"{len(times)} steps {times[:4]}…, /time has {len(e.times)}: {list(e.times[:4])}…")
    else:
        checks.check(f"{label} time steps", len(times) <= 1, f"{len(times)} steps")

    blocks = result.get("blocks", [])
    if e.d <= 3:
        image = len(blocks) == 1 and blocks[0]["class"] == "vtkImageData" and \
            int(np.prod(blocks[0].get("dimensions", [0]))) == e.density.size
        if not checks.check(f"{label} one image", image,
                            f"{result.get('data_class')} with {[b['class'] for b in blocks]}"
                            + (f", dimensions {blocks[0].get('dimensions')}" if blocks else "")):
            return
        block = blocks[0]

        def bounds():
            problems = []
            for k, axis in enumerate(e.axes):
                lo, hi = block["bounds"][2 * k], block["bounds"][2 * k + 1]
                c = e.coordinates[axis]
                scale = max(abs(c[0]), abs(c[-1]), c[-1] - c[0])
                if abs(lo - c[0]) > 1e-9 * scale or abs(hi - c[-1]) > 1e-9 * scale:
                    problems.append(f"{'XYZ'[k]} = ({lo:.6g}, {hi:.6g}), {axis} runs ({c[0]:.6g}, {c[-1]:.6g})")
            dims = block.get("dimensions", [])[:e.d]
            if dims != [len(e.coordinates[a]) for a in e.axes]:
                problems.append(f"dimensions {block.get('dimensions')}, cells {[len(e.coordinates[a]) for a in e.axes]}")
            else:
                for k, axis in enumerate(e.axes):
                    c = e.coordinates[axis]
                    points = block["origin"][k] + block["spacing"][k] * np.arange(len(c))
                    if np.max(np.abs(points - c)) > 1e-9 * max(np.max(np.abs(c)), 1e-300):
                        problems.append(f"points along {'XYZ'[k]} are not the {axis} coordinates")
            return not problems, "; ".join(problems) or \
                " ".join(f"{'XYZ'[k]}={e.axes[k]}" for k in range(e.d))

        checks.run(f"{label} bounds", bounds)

        wanted = ["density"] + (["current"] if e.has_current else []) + (["velocity"] if e.has_velocity else []) \
            + (["potential"] if e.potential is not None else [])
        vectors = {"current": e.current, "velocity": e.velocity}

        def arrays():
            problems = []
            for name in wanted:
                info = block["arrays"].get(name)
                if info is None:
                    problems.append(f"no {name}")
                elif info["components"] != (3 if name in vectors else 1):
                    problems.append(f"{name} has {info['components']} components")
            return not problems, "; ".join(problems) or \
                ", ".join(f"{n}({i['components']}, {i['type']})" for n, i in block["arrays"].items())

        checks.run(f"{label} point arrays", arrays)

        for name in wanted:
            def values(name=name):
                found = vtk_field(block, name)
                if found is None:
                    return False, f"no {name} array"
                data, info = found
                if name in vectors:
                    if data.ndim != 2 or data.shape[1] != 3:
                        return False, f"shape {data.shape}"
                    errors = []
                    for k in range(3):
                        expected = vectors[name][k] if k < e.d else np.zeros(e.density.shape)
                        errors.append(relative_difference(to_h5_order(data[:, k], e.density.shape), expected)
                                      if data.shape[0] == e.density.size else math.inf)
                    worst = max(errors)
                    return worst <= TOLERANCE, f"relative differences by component {[f'{x:.1e}' for x in errors]}"
                if data.size != e.density.size:
                    return False, f"{data.size} values, h5 has {e.density.size}"
                difference = relative_difference(to_h5_order(data.reshape(-1), e.density.shape),
                                                 e.density if name == "density" else e.potential)
                return difference <= TOLERANCE, f"relative difference {difference:.1e}" + \
                    (" at the last frame" if e.evolve else "")

            checks.run(f"{label} {name} values", values)

        if e.d == 2 and e.has_current:
            cloud, plane = result.get("stream_point_cloud"), result.get("stream_plane_cloud")
            checks.check(f"{label} StreamTracer on current", (plane or 0) > 0,
                         f"Point Cloud seeds in the image plane: {plane} points; the default ball of seeds, "
                         f"off the plane: {cloud} points")
        return

    # 4-d: marginals
    checks.check(f"{label} marginal blocks", len(blocks) >= 6 and all(b["class"] == "vtkImageData" for b in blocks),
                 f"{result.get('data_class')} with {len(blocks)} blocks, parts {[n for _, n in parts]}")
    for b, block in enumerate(blocks):
        name = parts[b][1] if b < len(parts) else f"block {b}"

        def marginal(block=block, name=name):
            found = vtk_field(block, "density")
            if found is None:
                return False, "no density array"
            data = found[0].reshape(-1)
            dims = [n for n in block.get("dimensions", []) if n > 1]
            spacing = [h for n, h in zip(block.get("dimensions", []), block.get("spacing", [])) if n > 1]
            integral = float(data.sum() * np.prod(spacing))
            problems = []
            # The marginal holds what the written density holds: the mass for finite volumes; for a
            # spectral file the midpoint sum of its samples (its expansion's mass is exact, but a
            # coarse output grid samples it: 0.99998664 on sgd-momentum-p3's 10⁶ cells).
            written = float(e.density.sum() * np.prod(e.spacing))
            if abs(integral - written) > MARGINAL_TOLERANCE:
                problems.append(f"integral {integral:.12g}, the written density's {written:.12g}")
            if not e.spectral and abs(written - e.mass_last) > MARGINAL_TOLERANCE:
                problems.append(f"the written density's integral {written:.12g}, mass {e.mass_last:.12g}")
            axes = marginal_axes(name, e.axes)
            detail = f"integral {integral:.12g}"
            if axes and len(axes) == len(dims) and dims == [len(e.coordinates[e.axes[k]]) for k in axes]:
                others = tuple(k for k in range(e.d) if k not in axes)
                expected = e.density.sum(axis=others) * np.prod([e.spacing[k] for k in others])
                order = sorted(axes)
                expected = np.transpose(expected, [order.index(k) for k in axes])
                difference = relative_difference(to_h5_order(data, expected.shape), expected)
                detail += f", relative difference {difference:.1e} from the h5 marginal"
                if difference > MARGINAL_TOLERANCE:
                    problems.append(f"relative difference {difference:.1e} from the h5 marginal over {[e.axes[k] for k in axes]}")
                for j, k in enumerate(axes):
                    c = e.coordinates[e.axes[k]]
                    if abs(block["bounds"][2 * j] - c[0]) > 1e-9 * (c[-1] - c[0]) or \
                            abs(block["bounds"][2 * j + 1] - c[-1]) > 1e-9 * (c[-1] - c[0]):
                        problems.append(f"{'XYZ'[j]} bounds are not the {e.axes[k]} range")
            else:
                problems.append(f"cannot match the part name {name!r} / dimensions {block.get('dimensions')} to axes {e.axes}")
            return not problems, "; ".join(problems) or detail

        checks.run(f"{label} {name}", marginal)


# ---------------------------------------------------------------------------------------------

def main(arguments):
    if not arguments:
        print(__doc__.strip().splitlines()[2])
        return 2
    checks = Checks()
    files = []
    for directory in arguments:
        folder = Path(directory)
        found = sorted(p for p in folder.glob("*.h5") if p.is_file()) if folder.is_dir() else []
        checks.check(f"{directory}: .h5 files", folder.is_dir(), f"{len(found)} files" if folder.is_dir() else "no such directory")
        files += found
    with tempfile.TemporaryDirectory(prefix="check_readers.") as temporary:
        scratch = Path(temporary)
        checked, jobs, sidecars = [], [], {}
        several = len({p.parent for p in files}) > 1
        for path in files:
            label = f"{path.parent.name}/{path.name}" if several else path.name
            try:
                e = Expected(path.resolve(), label)
            except Exception as error:  # noqa: BLE001
                checks.check(f"{label}: h5py layout", False, f"{type(error).__name__}: {one_line(error)}")
                continue
            checks.check(f"{label}: h5py layout", True,
                         f"{'evolve' if e.evolve else 'stationary'}, {e.d}-d, density {e.dimensions} {e.shape}")
            check_netcdf_c(checks, e, scratch)
            check_netcdf4(checks, e)
            check_xarray(checks, e)
            check_cf(checks, e, scratch)
            sidecar = f"{label}: ParaView sidecar"
            if not e.path.with_suffix(".pvd").exists():
                checks.check(sidecar, False, f"{e.stem}.pvd missing beside {path.name}")
            else:
                try:
                    problems, unprefixed, count, parts, missing = sidecar_structure(e)
                except Exception as error:  # noqa: BLE001
                    checks.check(sidecar, False, f"{e.stem}.pvd: {type(error).__name__}: {one_line(error)}")
                else:
                    checks.check(f"{sidecar} {e.stem}.pvd + {e.stem}_vtk/", not problems,
                                 "; ".join(problems) or f"{len(parts)} part(s), {count} .vti files")
                    checks.check(f"{sidecar} appended data starts with '_'", not unprefixed,
                                 f"{len(unprefixed)} of {count} .vti files without it, e.g. {unprefixed[0]}"
                                 if unprefixed else "")
                    if not missing and count:  # else ParaView would only show an empty data set
                        job = {"id": f"job{len(jobs)}", "pvd": str(e.path.with_suffix(".pvd")),
                               "stream": e.d == 2 and e.has_current}
                        jobs.append(job)
                        sidecars[job["id"]] = (e, parts)
            checked.append(e)
        results, note = run_pvbatch(jobs, scratch)
        for job in jobs:
            e, parts = sidecars[job["id"]]
            result = results.get(job["id"])
            if result is None:
                checks.check(f"{e.name}: ParaView", False, note or "no result from pvbatch")
                continue
            check_paraview(checks, e, result, parts)
    if not files:
        checks.check("any .h5 file found", False, f"none in {arguments}")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
