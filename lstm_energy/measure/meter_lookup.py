"""Turn ``meter=`` (a registry name or an EnergyMeter) into a meter object, and say who closes it."""
from __future__ import annotations

from lstm_energy.errors import MeterUnavailableError
from lstm_energy.meters.base import EnergyMeter


def resolve_meter(meter) -> tuple[EnergyMeter, bool]:
    """(meter object, True when it was opened here from a name and the caller must close it)."""
    if isinstance(meter, EnergyMeter):
        return meter, False
    if not isinstance(meter, str):
        raise TypeError(
            f"meter must be a meter name (e.g. 'auto', 'powercap', 'model') or an EnergyMeter, got "
            f"{type(meter).__name__}; see `lstm-energy meters` for the names"
        )
    try:
        from lstm_energy.meters import get_meter
    except ImportError as err:
        raise MeterUnavailableError(
            f"cannot look up meter {meter!r}: the meter registry lstm_energy.meters is not importable ({err}); "
            "reinstall with `pip install -e .` or pass a meter object"
        ) from None
    return get_meter(meter), True
