"""The text table of ``model.summary()``, shared by Sequential and functional models."""


def summary_table(model, default_name, headers, rows, print_fn=print):
    """Print ``rows`` under ``headers`` and the totals Keras prints: total, trainable and
    non-trainable parameters (moving statistics and frozen layers are non-trainable).

    Returns:
        The table as a string.
    """
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(headers)]
    line = "-" * (sum(widths) + 2 * (len(widths) - 1))
    fmt = "  ".join(f"{{:{'>' if h == 'Param #' else '<'}{w}}}" for h, w in zip(headers, widths))
    total, trainable = model.count_params(), model.count_trainable_params()
    text = "\n".join([f'Model: "{model.name or default_name}"', line, fmt.format(*headers).rstrip(), "=" * len(line),
                      *(fmt.format(*r).rstrip() for r in rows), "=" * len(line),
                      f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                      f"Non-trainable params: {total - trainable:,}", line])
    print_fn(text)
    return text
