"""Time-step order of one direction."""


def time_steps(T: int, reverse: bool) -> range:
    """Steps in the order the recurrence visits them: 0..T-1, or T-1..0 when ``reverse``."""
    return range(T - 1, -1, -1) if reverse else range(T)
