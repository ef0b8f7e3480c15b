"""Numbers the protocol and its checks share (one place, so a threshold cannot drift between them)."""

#: a window must span at least this many counter updates: a read is quantised to +/-1 update at each
#: edge, so 100 updates keep the edge error at or below ~2% of a window (docs/energy-measurement.md)
MIN_UPDATES_PER_WINDOW = 100
#: coefficient of variation of per-window time or energy above which the protocol warns
CV_WARNING_THRESHOLD = 0.10
