"""Outcome tallies of the edge tests (tried / clear error / obscure error / silent / crash / hang).

A test records each bad input's outcome with ``record``; the module's last test prints the tally
and asserts that every bad input got a clear error. Run ``pytest tests/test_cli_edges.py
tests/test_playground_edges.py -q -s`` to see the figures.
"""
OUTCOMES = ("clear error", "obscure error", "silent", "crash", "hang")


class Tally:
    def __init__(self, area):
        self.area, self.cases = area, {}

    def record(self, case, outcome, detail=""):
        assert outcome in OUTCOMES, outcome
        self.cases[case] = (outcome, detail)
        return outcome

    def counts(self):
        counts = {o: 0 for o in OUTCOMES}
        for outcome, _ in self.cases.values():
            counts[outcome] += 1
        return counts

    def line(self):
        counts = self.counts()
        return f"{self.area}: tried {len(self.cases)} / " + " / ".join(f"{o} {n}" for o, n in counts.items())

    def failures(self):
        return {case: detail for case, (outcome, detail) in self.cases.items() if outcome != "clear error"}
