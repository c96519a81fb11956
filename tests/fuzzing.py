"""The bounded fuzz's runner, shared by test_fuzz.py (the engine's API) and
test_fuzz_commands.py (commands, files, learned envs).

A case is a line of Python. A child interpreter runs a chunk of cases, each either finishing
("ok"), raising a clean exception with a message ("raised") or anything else ("bad": an
exception of another type, an empty message, a failed check). A child that dies by a signal or
hangs has its unfinished cases rerun one per child, which names the culprit.
"""
from __future__ import annotations

import collections
import json
import signal
import subprocess

from conftest import run_python

# Put into a child's source after its imports (numpy as np): the check of observations.
CHECK = r'''
class Unfit(AssertionError):
    """A failed check: observations that are not finite or leave their space, or (commands) a
    traceback or an error of more than one line."""


def check(obs, space, where):
    for key, value in obs.items():
        value = np.asarray(value)
        if value.dtype.kind != "f":
            continue
        if not np.isfinite(value).all():
            raise Unfit(f"{where}: {key} is not finite: {value}")
        box = space[key]
        if not ((value >= box.low) & (value <= box.high)).all():
            bad = np.argwhere(~((value >= box.low) & (value <= box.high)))[:5].tolist()
            raise Unfit(f"{where}: {key} leaves its space at {bad}: {value.ravel()[:32]}")
'''

# Appended to a child's own source: runs the cases given on stdin as JSON [(index, source)].
LOOP = r'''
import json as _json, sys as _sys, time as _time, traceback as _traceback


def _run(cases):
    for i, source in cases:
        print(_json.dumps({"start": i}), flush=True)
        _start = _time.perf_counter()
        try:
            exec(compile(source, f"<case {i}>", "exec"), dict(globals()))
            result = {"outcome": "ok"}
        except CLEAN as e:
            message = str(e).strip()
            result = {"outcome": "raised" if message else "bad", "error": f"{type(e).__name__}: {message}"[:400]}
        except BaseException:
            result = {"outcome": "bad", "error": _traceback.format_exc()[-2000:]}
        result["seconds"] = round(_time.perf_counter() - _start, 2)
        print(_json.dumps({"case": i, **result}), flush=True)


_run(_json.load(_sys.stdin))
'''


def _text(output) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else (output or "")


def run_chunk(child: str, cases: list[tuple[int, str]], timeout: float, env: dict | None = None
              ) -> tuple[dict[int, dict], str | None]:
    """Results of the cases that finished, by index, and what went wrong with the child (None
    if it exited normally)."""
    try:
        done = run_python(child + LOOP, timeout, input=json.dumps(cases), env=env)
        stdout, problem = done.stdout, None
        if done.returncode < 0:
            problem = f"killed by {signal.Signals(-done.returncode).name}"
        elif done.returncode:
            problem = f"exited {done.returncode}"
        if problem:
            problem += "; stderr: " + done.stderr[-1500:]
    except subprocess.TimeoutExpired as e:
        stdout, problem = _text(e.stdout), f"hung (killed after {timeout} s)"
    results = {}
    for line in stdout.splitlines():
        if line.startswith('{"case"'):
            record = json.loads(line)
            results[record.pop("case")] = record
    return results, problem


def run_cases(child: str, cases: list[tuple[str, str]], chunk: int, timeout: float,
              env: dict | None = None) -> dict[int, dict]:
    """Every case's result, by its index in `cases` ((category, source) pairs)."""
    indexed = list(enumerate(source for _, source in cases))
    results: dict[int, dict] = {}
    for start in range(0, len(indexed), chunk):
        part = indexed[start:start + chunk]
        got, problem = run_chunk(child, part, timeout, env)
        results.update(got)
        if problem is None:
            continue
        # Name the culprit: each unfinished case alone in a child.
        for i, source in part:
            if i in results:
                continue
            alone, alone_problem = run_chunk(child, [(i, source)], timeout, env)
            results[i] = alone.get(i) or {"outcome": "bad", "error": alone_problem or "no result"}
        if all(results[i]["outcome"] != "bad" for i, _ in part):
            results[part[0][0]] = {"outcome": "bad", "error": f"a child running cases {part[0][0]} to {part[-1][0]} "
                                                              f"{problem}, though each case passes alone"}
    return results


def check_results(cases: list[tuple[str, str]], results: dict[int, dict], must_run: set[str] | None = None,
                  must_raise: set[str] | None = None) -> None:
    """Fails naming every case that was neither ok nor a clean refusal; categories in must_run
    (must_raise) need some case that ran (was refused), so the values still reach the code."""
    counts = collections.defaultdict(collections.Counter)
    for i, (category, _) in enumerate(cases):
        counts[category][results.get(i, {"outcome": "missing"})["outcome"]] += 1
    print("\nfuzz cases:", {c: dict(n) for c, n in counts.items()})
    slowest = sorted(results, key=lambda i: -results[i].get("seconds", 0))[:5]
    print("slowest:", [(i, results[i].get("seconds"), cases[i][1][:100]) for i in slowest])
    failures = [f"case {i} [{cases[i][0]}]: {cases[i][1]}\n    -> {results.get(i, {}).get('error', 'no result')}"
                for i in range(len(cases)) if results.get(i, {}).get("outcome") not in ("raised", "ok")]
    assert not failures, f"{len(failures)} of {len(cases)} fuzz cases failed:\n" + "\n".join(failures)
    for category, n in counts.items():
        if must_run is None or category in must_run:
            assert n["ok"], f"no {category} case ran: the fuzz values are all refused"
        if must_raise is None or category in must_raise:
            assert n["raised"], f"no {category} case raised: the fuzz values no longer reach the checks"
