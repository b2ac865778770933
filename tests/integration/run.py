#!/usr/bin/env python3
"""Runs the integration tests (tests/integration/test_*.py, unittest TestCases).

    python3 tests/integration/run.py [FILTER...]

FILTER keeps the tests whose id (module.Class.test_name) contains it (several: any of them).
Prints one line per test as it finishes, then the details of failures, and as its last line
    integration: N passed, N failed            (", N skipped" added when tests were skipped)
Exit status 0 only if nothing failed.  A class whose setUpClass fails counts each of its selected
tests as failed; a failing tearDownClass (gateway exit status, sanitizer report) counts as one
more failure.  tests/run.sh reads the last line.
"""

import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ folders in the work tree


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


class Result(unittest.TestResult):
    def __init__(self, class_counts):
        super().__init__()
        self.class_counts = class_counts
        self.passed = 0
        self.failed = 0
        self.skipped_n = 0
        self.details = []
        self.started = {}

    def _out(self, line):
        print(line, flush=True)

    def startTest(self, test):
        super().startTest(test)
        self.started[test.id()] = time.monotonic()

    def _took(self, test):
        t0 = self.started.get(test.id())
        return " (%.2fs)" % (time.monotonic() - t0) if t0 else ""

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._out("ok       %s%s" % (test.id(), self._took(test)))

    def _bad(self, kind, test, err):
        desc = test.id() if hasattr(test, "_testMethodName") else str(test)
        n = 1
        if isinstance(test, unittest.case._SubTest):
            desc = test.id()
        elif not hasattr(test, "_testMethodName"):
            # a class or module fixture failed: setUpClass (module.Class)
            text = str(test)
            if text.startswith("setUpClass"):
                cls = text[text.find("(") + 1:text.rfind(")")]
                n = self.class_counts.get(cls, 1)
                kind += " (setUpClass: %d test%s not run)" % (n, "" if n == 1 else "s")
        self.failed += n
        self.details.append((kind, desc, self._exc_info_to_string(err, test)))
        self._out("%-8s %s%s" % (kind.split()[0], desc, self._took(test) if hasattr(test, "_testMethodName") else ""))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad("FAIL", test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad("ERROR", test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            self._bad(kind, subtest, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skipped_n += 1
        self._out("skipped  %s: %s" % (test.id(), reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed += 1
        self._out("ok       %s (expected failure)" % test.id())

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed += 1
        self.details.append(("UNEXPECTED SUCCESS", test.id(), "marked expectedFailure but passed\n"))
        self._out("FAIL     %s (unexpected success)" % test.id())


def main(argv):
    filters = [a for a in argv if not a.startswith("-")]
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    try:
        discovered = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    except Exception:
        traceback.print_exc()
        print("integration: 0 passed, 1 failed", flush=True)
        return 1
    tests = list(flatten(discovered))
    if filters:
        tests = [t for t in tests if any(f in t.id() for f in filters)]
    class_counts = {}
    for t in tests:
        if hasattr(t, "_testMethodName"):
            key = "%s.%s" % (type(t).__module__, type(t).__qualname__)
            class_counts[key] = class_counts.get(key, 0) + 1
    result = Result(class_counts)
    # Import errors of a test module arrive as failing "_FailedTest" tests: they count as failures.
    t0 = time.monotonic()
    unittest.TestSuite(tests).run(result)
    took = time.monotonic() - t0
    if result.details:
        print("", flush=True)
        for kind, desc, text in result.details:
            print("=" * 78)
            print("%s: %s" % (kind, desc))
            print("-" * 78)
            print(text.rstrip())
        print("=" * 78, flush=True)
    print("(%d tests selected, %.1fs)" % (len(tests), took), flush=True)
    line = "integration: %d passed, %d failed" % (result.passed, result.failed)
    if result.skipped_n:
        line += ", %d skipped" % result.skipped_n
    print(line, flush=True)
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
