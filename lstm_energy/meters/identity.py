"""Which meter made a figure: the part of a meter's ``describe()`` that makes two figures comparable.

Two records whose identities agree hold joules of the same meter set the same way (the estimator's
formula, coefficients, their source and calibration; a counter's files, events or registers and its
headline domains); running state that differs from record to record is left out. Used where figures are
put together: ``--resume`` (lstm_energy.sweep.points) and the report banners that name each meter.
"""

from __future__ import annotations

import json

#: the keys of a meter's ``describe()`` that say which meter made a figure, so that two records whose
#: keys agree hold comparable joules: the estimator's formula, parameters, their source and its
#: calibration (``calibrated``, ``calibration_fit``); a counter's kind, files/events/registers and
#: headline domains; the simulated meter's parameters. Left out: running state that differs from record
#: to record (``wraparound`` wraps and poll gaps, sampler periods, a zone's ``enabled``, the
#: ``lower_bound`` floor, ``ignored_zones``, ``die_mirror_checks``) and labels that do not change a
#: figure (``parameter_sources``, ``profile_path``: a calibration profile moved or copied elsewhere,
#: with the same fitted parameters, source and fit, is the same calibration).
METER_IDENTITY_FIELDS = (
    "name",
    "provenance",
    "counter",
    "model",
    "parameters",
    "source",
    "calibrated",
    "calibration_fit",
    "root",
    "pmu",
    "pmu_type",
    "unit_overrides",
    "domains",
    "headline_domains",
)
#: per-domain fields of a counter's ``domains`` that are state, not identity
_VOLATILE_DOMAIN_FIELDS = ("enabled",)


def meter_identity(description: dict) -> dict:
    """What makes two meters' figures comparable: the ``METER_IDENTITY_FIELDS`` of a meter's
    ``describe()`` (or of a record's ``energy.meter``), as JSON values, leaving out the fields the
    description lacks (a record written by an older version compares on what it has)."""
    identity = {k: description[k] for k in METER_IDENTITY_FIELDS if k in description}
    domains = identity.get("domains")
    if isinstance(domains, dict):
        identity["domains"] = {
            key: {f: v for f, v in entry.items() if f not in _VOLATILE_DOMAIN_FIELDS}
            if isinstance(entry, dict)
            else entry
            for key, entry in domains.items()
        }
    return json.loads(json.dumps(identity, default=str))  # tuples -> lists, as a record holds them


def identity_key(description: dict) -> str:
    """``meter_identity`` as one canonical string, to group descriptions by meter."""
    return json.dumps(meter_identity(description), sort_keys=True)


def identity_differences(held: dict, this: dict) -> list[str]:
    """Where two identities disagree, on the fields both carry: ``parameters.static_watts 7.36 in the
    file, 20.0 now`` (dotted into dicts). Empty when they agree."""

    def flat(value, prefix: str) -> dict:
        if isinstance(value, dict) and value:
            out = {}
            for k, v in value.items():
                out.update(flat(v, f"{prefix}.{k}"))
            return out
        return {prefix: value}

    out = []
    for key_name in METER_IDENTITY_FIELDS:
        if key_name not in held or key_name not in this:
            continue
        a, b = flat(held[key_name], key_name), flat(this[key_name], key_name)
        for key in sorted(set(a) | set(b)):
            if a.get(key, _ABSENT) != b.get(key, _ABSENT):
                out.append(f"{key} {_shown(a.get(key, _ABSENT))} in the file, {_shown(b.get(key, _ABSENT))} now")
    return out


_ABSENT = object()


def _shown(value) -> str:
    return "absent" if value is _ABSENT else repr(value)


def settings_hint(identity: dict) -> str:
    """Where a meter's settings come from, for a message asking to resume under the file's settings:
    the estimator's calibration profile (``$LSTM_ENERGY_MODEL_PROFILE``); empty for other meters."""
    if identity.get("provenance") == "estimated":
        from lstm_energy.meters.model import PROFILE_ENV

        return f" (the estimator's coefficients: the calibration profile in ${PROFILE_ENV}, or none)"
    return ""
