"""The playground's sessions: at most MAX_SESSIONS at once, by id, and the one trainer thread that
gives each running session a short time slice in turn (server.py answers the requests)."""
import threading
import time
import uuid

from .session import Session

MAX_SESSIONS = 32
EVICT_AFTER = 60.0  # seconds without a request or an open event stream before a session may be dropped
STOP_AFTER = 120.0  # seconds unseen before a running session is paused (its page is gone)


class Playground:
    """The sessions and the trainer thread."""

    def __init__(self):
        self.sessions = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.trainer = threading.Thread(target=self._train_loop, name="glassnet-trainer", daemon=True)
        self.trainer.start()

    def create(self, config):
        """A new session; raises Busy when all are in use (a blind flood never evicts a live page)."""
        session = Session(config)
        with self.lock:
            if len(self.sessions) >= MAX_SESSIONS:  # drop the least recently used, if idle long enough
                oldest = min(self.sessions, key=lambda k: self.sessions[k].last_used)
                if time.monotonic() - self.sessions[oldest].last_used < EVICT_AFTER:
                    raise Busy(f"all {MAX_SESSIONS} sessions are in use; try again in a minute")
                del self.sessions[oldest]
            sid = uuid.uuid4().hex
            self.sessions[sid] = session
        return sid, session

    def get(self, sid):
        with self.lock:
            session = self.sessions.get(sid)
        if session is not None:
            session.last_used = time.monotonic()
        return session

    def _train_loop(self):
        while not self.stop.is_set():
            with self.lock:
                running = [s for s in self.sessions.values() if s.running]
            now = time.monotonic()
            for session in running:
                if now - session.last_used > STOP_AFTER:  # nobody watches: its page is gone
                    with session.lock:
                        session.running = False
                        session.version += 1
                    continue
                session.tick()
            time.sleep(0.04)  # about 50 epochs a second: fast to learn, slow enough to watch


class Busy(Exception):
    """Every session slot is held by a page in use."""
