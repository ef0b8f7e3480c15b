"""Cloud Carbon Footprint's per-vCPU power coefficients (SPECpower-derived), shipped as package data.

``data/ccf_coefficients_aws.csv`` holds rows of CCF's ``output/coefficients-aws-use.csv`` verbatim
(repository cloud-carbon-footprint/ccf-coefficients, Apache-2.0); ``data/ccf_coefficients_aws.json``
records where and when they were read, the licence, the column meanings and CCF's average row for
an unknown CPU (0.74 / 3.5 W per vCPU, ``MIN_WATTS_AVG`` / ``MAX_WATTS_AVG`` of CCF's AWS constants).

Units: watts per vCPU (hardware thread). ``min`` is the average idle power, ``max`` the average
power at 100 % load; CCF's own model is ``watts = min + utilisation * (max - min)`` per vCPU.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DATA_PACKAGE = "lstm_energy.meters.data"
CSV_NAME = "ccf_coefficients_aws.csv"
METADATA_NAME = "ccf_coefficients_aws.json"


@dataclass(frozen=True)
class CoefficientRow:
    """One microarchitecture's coefficients, in W per vCPU."""

    row: str  # CCF "Architecture", or "CCF average (AWS)"
    min_watts_per_vcpu: float
    max_watts_per_vcpu: float


@dataclass(frozen=True)
class CoefficientTable:
    rows: dict[str, CoefficientRow]
    average: CoefficientRow
    metadata: dict

    @property
    def label(self) -> str:
        """'Cloud Carbon Footprint coefficients (AWS, SPECpower-derived, Apache-2.0, read 2026-12-06)'."""
        return (
            f"Cloud Carbon Footprint coefficients (AWS, SPECpower-derived, {self.metadata['licence']}, "
            f"read {self.metadata['read']})"
        )

    @property
    def citation(self) -> str:
        """Repository, path and commit the rows were read from."""
        m = self.metadata
        return f"{m['repository']} {m['path']} @ {m['commit'][:12]} (data as of {m['data_as_of'][:7]})"

    def row_for(self, name: str | None) -> CoefficientRow:
        """The named row, or the average row when ``name`` is None."""
        if name is None:
            return self.average
        return self.rows[name]


def _read_text(name: str) -> str:
    return resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_table() -> CoefficientTable:
    """The shipped table (read once). Raises FileNotFoundError if the package data is missing."""
    metadata = json.loads(_read_text(METADATA_NAME))
    rows = {}
    for record in csv.DictReader(io.StringIO(_read_text(CSV_NAME))):
        name = record["Architecture"]
        rows[name] = CoefficientRow(name, float(record["Min Watts"]), float(record["Max Watts"]))
    average = metadata["average"]
    return CoefficientTable(
        rows=rows,
        average=CoefficientRow(
            average["row"], float(average["min_watts_per_vcpu"]), float(average["max_watts_per_vcpu"])
        ),
        metadata=metadata,
    )
