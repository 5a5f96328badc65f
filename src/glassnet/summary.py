"""The text table of ``model.summary()``, shared by Sequential and functional models, and
Keras's default layer names."""
import re


def snake_case(class_name):
    """Keras's default name for a layer class: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` ->
    ``max_pooling2d``, ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def layer_names(layers, base=snake_case):
    """A name per layer: its own, else Keras's ``dense``, ``dense_1``, ... unique among ``layers``."""
    taken, names = {layer.name for layer in layers if layer.name}, []
    for layer in layers:
        name, k = layer.name, 0
        if not name:
            name = stem = base(layer)
            while name in taken:
                k += 1
                name = f"{stem}_{k}"
            taken.add(name)
        names.append(name)
    return names


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
