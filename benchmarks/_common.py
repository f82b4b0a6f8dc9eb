"""What every benchmark script shares: where it ran, its peak memory, writing its JSON."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import ticketflow

RESULTS_DIR = Path(__file__).parent / "results"


def machine_info(**extra: Any) -> dict[str, Any]:
    """Where the figures were measured (plus ``extra`` entries, e.g. library versions)."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        **extra,
        "ticketflow": ticketflow.__version__,
    }


def banner(info: dict[str, Any]) -> str:
    """The first line of a benchmark's table: versions and machine."""
    return (
        f"ticketflow {info['ticketflow']} / Python {info['python']} on {info['platform']} "
        f"({info['cpus']} CPUs)"
    )


def peak_rss_mib() -> float:
    """The process's peak resident memory, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` and return its path."""
    path = RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
