"""The same tables on every x86-64 machine: numpy's and OpenBLAS's SIMD code, fixed before
numpy loads.

numpy and OpenBLAS choose their machine code when they load, by the CPU. With AVX-512,
numpy's float64 ``exp`` and ``log`` (among others) are vector code whose results differ
from the AVX2 code's in the last bit, and OpenBLAS sums dot products in another order. A
run's firms compare such numbers, so one last bit can send a run down another path: the
baseline's replicate 0 ends at an HHI of 640 on an AVX2 machine and of 693 on an AVX-512
one (docs/sweeps.md, "Same tables on every machine"). Tables would then depend on which
cluster node ran a run, and the figures in docs/ would not reproduce on the reader's
machine.

:func:`pin_numerics` caps both at the AVX2 level (x86-64-v3: every x86 server CPU since
2015) by setting two environment variables before numpy is imported:

- ``NPY_DISABLE_CPU_FEATURES``: numpy's dispatch targets above x86-64-v3 (numpy >= 2.4
  names them ``X86_V4``, ``AVX512_ICL`` and ``AVX512_SPR``; names a CPU lacks are ignored);
- ``OPENBLAS_CORETYPE=Haswell``: OpenBLAS's AVX2 kernels, only where the CPU has AVX2 and
  FMA (a kernel the CPU cannot run would crash).

It also runs OpenBLAS on one thread (``OPENBLAS_NUM_THREADS=1``): a product split across
threads is summed in another order, so the last bit would depend on the machine's number
of cores, or on whatever set ``OMP_NUM_THREADS`` (``import pyabc`` sets it to 1). Runs are
parallel across processes, not within one.

A variable the user has set is left alone (``NPY_DISABLE_CPU_FEATURES=`` with an empty
value runs at the CPU's full width), and so are CPUs other than x86-64. The ``aimarket``
command pins itself (``experiments/__main__.py``), and local workers and Dask workers it
starts inherit the variables; dask-jobqueue job scripts export them
(:func:`shell_exports`). Each run records what it ran with in the ``runs`` table's
``numerics`` column (:func:`sim.run.numerics`), so a store that mixes levels shows it
(``aimarket status``).

This module imports nothing that loads numpy.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import MutableMapping

__all__ = [
    "NUMPY_DISABLE",
    "OPENBLAS_CORE",
    "pin_numerics",
    "pinned_variables",
    "read_cpu_flags",
    "shell_exports",
]

NUMPY_DISABLE = "X86_V4 AVX512_ICL AVX512_SPR"
"""numpy's dispatch targets above x86-64-v3, as ``NPY_DISABLE_CPU_FEATURES`` takes them."""

OPENBLAS_CORE = "Haswell"
"""OpenBLAS's kernels for AVX2 and FMA."""

_X86 = {"x86_64", "amd64"}
_SET_HERE: dict[str, str] = {}  # what pin_numerics set in this process


def read_cpu_flags() -> set[str] | None:
    """The CPU's feature flags from ``/proc/cpuinfo``; None where it cannot be read."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def pinned_variables(
    environ: MutableMapping[str, str] | None = None,
    *,
    machine: str | None = None,
    cpu_flags: set[str] | None = None,
) -> dict[str, str]:
    """The variables :func:`pin_numerics` would set: none the user has set, none off x86-64.

    ``machine`` and ``cpu_flags`` default to this machine's.

    Examples
    --------
    >>> x86 = pinned_variables({}, machine="x86_64", cpu_flags={"avx2", "fma"})
    >>> x86 == {"OPENBLAS_NUM_THREADS": "1", "NPY_DISABLE_CPU_FEATURES": NUMPY_DISABLE,
    ...         "OPENBLAS_CORETYPE": "Haswell"}
    True
    >>> pinned_variables({"NPY_DISABLE_CPU_FEATURES": ""}, machine="x86_64", cpu_flags=set())
    {'OPENBLAS_NUM_THREADS': '1'}
    >>> pinned_variables({}, machine="aarch64", cpu_flags=set())
    {'OPENBLAS_NUM_THREADS': '1'}
    """
    env = os.environ if environ is None else environ
    out = {} if "OPENBLAS_NUM_THREADS" in env else {"OPENBLAS_NUM_THREADS": "1"}
    if (machine if machine is not None else platform.machine()).lower() not in _X86:
        return out
    # numpy refuses to load with both of its variables set.
    if "NPY_DISABLE_CPU_FEATURES" not in env and "NPY_ENABLE_CPU_FEATURES" not in env:
        out["NPY_DISABLE_CPU_FEATURES"] = NUMPY_DISABLE
    flags = cpu_flags if cpu_flags is not None else read_cpu_flags()
    if "OPENBLAS_CORETYPE" not in env and flags is not None and {"avx2", "fma"} <= flags:
        out["OPENBLAS_CORETYPE"] = OPENBLAS_CORE
    return out


def pin_numerics() -> bool:
    """Cap numpy's and OpenBLAS's SIMD code at AVX2 for this process and the processes it
    starts. Returns False, changing nothing, if numpy is already loaded (too late)."""
    if "numpy" in sys.modules:
        return False
    variables = pinned_variables()
    os.environ.update(variables)
    _SET_HERE.update(variables)
    return True


def shell_exports() -> list[str]:
    """Shell lines that pin a batch job's worker the same way, whatever node it lands on
    (for dask-jobqueue's ``job_script_prologue``); a variable the user set is passed on."""
    user = {k: v for k, v in os.environ.items() if _SET_HERE.get(k) != v}
    lines = []
    if "NPY_ENABLE_CPU_FEATURES" in user:
        lines.append(f"export NPY_ENABLE_CPU_FEATURES='{user['NPY_ENABLE_CPU_FEATURES']}'")
    else:
        numpy_value = user.get("NPY_DISABLE_CPU_FEATURES", NUMPY_DISABLE)
        lines.append(f"export NPY_DISABLE_CPU_FEATURES='{numpy_value}'")
    if "OPENBLAS_CORETYPE" in user:
        lines.append(f"export OPENBLAS_CORETYPE='{user['OPENBLAS_CORETYPE']}'")
    else:
        lines.append(
            "if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; "
            f"then export OPENBLAS_CORETYPE={OPENBLAS_CORE}; fi"
        )
    lines.append(f"export OPENBLAS_NUM_THREADS='{user.get('OPENBLAS_NUM_THREADS', '1')}'")
    return lines
