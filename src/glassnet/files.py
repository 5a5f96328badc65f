"""Writing files atomically: a crash leaves either the old file or the new one, never half of one."""
import os
import secrets

_PARTIAL = ".glassnet-partial-"


def atomic_write(path, data, mode="wb"):
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    The data goes to ``.glassnet-partial-<pid>-<random>-<name>`` beside the target, created
    with mode 0o666 less the umask (as any tool's new file), then is flushed, synced and
    renamed over the target. Partial files of processes that no longer run (a write killed
    midway) are removed from the folder first.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_partials(folder)
    tmp = os.path.join(folder, f"{_PARTIAL}{os.getpid()}-{secrets.token_hex(4)}-{os.path.basename(path)[:100]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def remove_stale_partials(folder):
    """Delete the partial files in ``folder`` whose writing process has ended; returns their names."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        pid = name[len(_PARTIAL):].split("-", 1)[0]
        if name.startswith(_PARTIAL) and pid.isdigit() and not _running(int(pid)):
            try:
                os.remove(os.path.join(folder, name))
                removed.append(name)
            except OSError:
                pass  # another process removed it first, or it is not ours to remove
    return removed


def _running(pid):
    if pid == os.getpid() or os.name == "nt":  # NOTE: os.kill(pid, 0) on Windows would send CTRL_C_EVENT
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
