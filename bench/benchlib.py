"""What the benchmark scripts share."""


def percentile(values, p):
    """The p-th percentile (0-100) of values, nearest rank."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]
