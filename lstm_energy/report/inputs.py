"""What a file handed to ``lstm-energy report`` is, before it is loaded.

The report reads results: sweep JSON Lines (one record per line), a JSON list of records, or a
pytest-benchmark ``--benchmark-json`` document. A file that is one JSON document of another kind (a
machine profile, a calibration profile, any other JSON object) is not results: loading it line by
line would only fill the page with "corrupt line" notes, so the command refuses it up front. A
damaged JSON Lines file is still results; the loader names each bad line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: what ``report`` takes, for error messages
ACCEPTED = (
    "`lstm-energy report` takes sweep results (.jsonl written by `lstm-energy sweep -o`) or pytest-benchmark "
    "JSON (`pytest --benchmark-json`)"
)


def _is_record(document: dict) -> bool:
    """A single results record (a one-line results file): it names its schema version and kind."""
    return "schema_version" in document or "kind" in document


def _is_machine_profile(document: dict) -> bool:
    """``lstm-energy machine --json`` output (or its cached file): a fingerprint and measured peaks."""
    return "fingerprint" in document and ("peak_gflops" in document or "roofline" in document)


def _document_kind(document) -> str | None:
    """What a whole-file JSON document is when it is not results; None when it is results."""
    if isinstance(document, list):
        return None  # a list of records: the loader checks each
    if not isinstance(document, dict):
        return f"a single JSON {type(document).__name__} value"
    if "benchmarks" in document or _is_record(document):
        return None
    if _is_machine_profile(document):
        return "a machine profile (`lstm-energy machine --json` output)"
    keys = ", ".join(sorted(str(k) for k in document)[:6]) or "none"
    return f"a JSON object that is neither a results record nor a pytest-benchmark document (its keys: {keys})"


def not_results_reason(path: str | os.PathLike) -> str | None:
    """One line saying what ``path`` is and what ``report`` takes, when it is one JSON document that is not
    results; None when it is results, may be (JSON Lines, even damaged), or cannot be read (the loader
    reports that with its reason)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None  # JSON Lines, or a damaged file whose bad lines the loader names
    kind = _document_kind(document)
    if kind is None:
        return None
    hint = f"; pass a machine profile with --machine {path}" if kind.startswith("a machine profile") else ""
    return f"{path} is {kind}, not results: {ACCEPTED}{hint}"
