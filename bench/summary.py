"""How the benchmarks sum up a competitor's rounds against PyTorch's."""
import statistics


def against(steps, reference):
    """The median and range of a competitor's per-round times ``steps``, and of their ratios to the
    reference's times of the same rounds (``reference``, in round order)."""
    ratios = [a / b for a, b in zip(steps, reference)]
    return {"step_s": statistics.median(steps), "min_s": min(steps), "max_s": max(steps),
            "ratio_to_pytorch": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}
