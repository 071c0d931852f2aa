"""The bookkeeping the outside checks share: one line per check ('ok   name' / 'FAIL name
(detail)'), counted, closing with 'N passed, N failed' (the line CI reads)."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.results = {}

    def check(self, name, condition, detail=""):
        """Counts and prints one check; returns the condition."""
        condition = bool(condition)
        status = "ok  " if condition else "FAIL"
        print(f"{status} {name}" + (f" ({detail})" if detail else ""), flush=True)
        self.results[name] = condition
        if condition:
            self.passed += 1
        else:
            self.failed += 1
        return condition

    def record(self, name, problems):
        """A check given as its list of problems (empty: passed)."""
        return self.check(name, not problems, "; ".join(problems))

    def run(self, name, function):
        """Runs function() -> (condition, detail); an exception is a failure naming it."""
        try:
            condition, detail = function()
        except Exception as error:  # noqa: BLE001 — every error of a reader is a finding
            condition, detail = False, f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
        return self.check(name, condition, detail)

    @staticmethod
    def skip(name, reason):
        print(f"skip {name} ({reason})", flush=True)

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0
