"""Benchmark: how often the extracted visible reply is exactly what the customer wrote.

Two layouts:

* fixture folder (the contract): ``NAME.eml`` (a full message, its body comes from
  ``channels.email_mime.parse``) or ``NAME.txt`` (a plain body), each next to ``NAME.expected.txt``.
  A case is correct when the whitespace-normalized output equals the expected text exactly.
* ``--expectations FILE``: the shared github/zapier ``expectations.json`` transcriptions, which
  assert on parser *fragments* rather than on one expected string. Only assertions that say
  something about the visible reply are used (see ``reply_checks``); fixtures without any are not
  cases. Timing limits (``max_seconds``) are checked and reported separately.

``--baseline`` runs plain ``EmailReplyParser.parse_reply`` on the same bodies for comparison.

    python -m bench.email_replies --fixtures tests/fixtures/email_replies --json
    python -m bench.email_replies --expectations ../shared/datasets/email_reply_parser/github/expectations.json --json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from email_reply_parser import EmailReplyParser

from bench.leakage import remove_leaked
from channels.email_mime import parse
from channels.email_quotes import visible_reply

Extractor = Callable[[str], str]
DEV_FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "email_replies"
MIN_NEGATIVE_LEN = 6  # shorter "must not appear" strings (">", "On") also occur in correct replies


def normalize(text: str) -> str:
    """Whitespace-insensitive form: mail clients and parsers disagree on blank lines and wrapping."""
    return " ".join(text.split())


@dataclass
class Case:
    name: str
    body: str
    checks: list[tuple[str, Callable[[str], bool]]] = field(default_factory=list)
    max_seconds: float | None = None


def fixture_cases(folder: Path) -> Iterator[Case]:
    for expected_path in sorted(folder.glob("*.expected.txt")):
        name = expected_path.name.removesuffix(".expected.txt")
        expected = normalize(expected_path.read_text(encoding="utf-8"))
        eml, txt = folder / f"{name}.eml", folder / f"{name}.txt"
        if eml.exists():
            body = str(parse(eml.read_bytes(), tenant_id=0).raw.get("body", ""))
        elif txt.exists():
            body = txt.read_text(encoding="utf-8")
        else:
            continue
        yield Case(name, body, [("equals", lambda out, e=expected: normalize(out) == e)])


def _literal(pattern: str) -> str | None:
    """The plain text a ``^literal`` regex stands for, if it is one."""
    text = pattern.removeprefix("^")
    return None if re.search(r"[\\.^$*+?{}\[\]|()]", text) else text


def reply_checks(spec: dict, body: str) -> list[tuple[str, Callable[[str], bool]]]:
    """Translate fragment assertions into assertions on the visible reply.

    Unquoted fragments not marked hidden must appear in the reply; hidden ones (or, when the fixture
    gives no hidden flags, every fragment after the first, which these tests use for the quote) must
    not, as far as their assertion text is specific enough to say so. Visible *quoted* fragments
    (the quote an inline answer responds to) are not checked either way: the Ruby gem shows them,
    the Python port's ``reply`` drops them, and both are defensible.
    """
    checks: list[tuple[str, Callable[[str], bool]]] = []
    for key in ("parse_reply_equals", "derived_visible_text", "reply_strip_equals"):
        if key in spec:
            want = normalize(spec[key])
            checks.append((key, lambda out, w=want: normalize(out) == w))
    for sub in map(normalize, spec.get("reply_contains", [])):
        checks.append(("reply_contains", lambda out, s=sub: s in normalize(out)))
    if "parse_reply_not_contains" in spec:
        bad = normalize(spec["parse_reply_not_contains"])
        checks.append(("parse_reply_not_contains", lambda out, b=bad: b not in normalize(out)))
    hidden_flags: list[bool] | None = spec.get("hidden")
    quoted_flags: list[bool] = spec.get("quoted", [])

    def hidden(i: int) -> bool:
        return hidden_flags[i] if hidden_flags is not None and i < len(hidden_flags) else i > 0

    def unchecked(i: int) -> bool:
        return not hidden(i) and i < len(quoted_flags) and quoted_flags[i]

    for i_str, text in spec.get("fragment_equals", {}).items():
        want = normalize(text)
        if not want or unchecked(int(i_str)):
            continue
        if hidden(int(i_str)):
            checks.append(("hidden_equals", lambda out, w=want: w not in normalize(out)))
        else:
            checks.append(("visible_equals", lambda out, w=want: w in normalize(out)))
    for i_str, subs in spec.get("fragment_contains", {}).items():
        for sub in subs:
            if unchecked(int(i_str)):
                continue
            if not hidden(int(i_str)):
                checks.append(("visible_contains", lambda out, s=sub: s in out))
            elif len(sub) >= MIN_NEGATIVE_LEN:
                checks.append(("hidden_contains", lambda out, s=sub: s not in out))
    for key in ("fragment_matches", "fragment_regex_match"):
        for i_str, patterns in spec.get(key, {}).items():
            for pattern in patterns:
                if unchecked(int(i_str)):
                    continue
                if not hidden(int(i_str)):
                    checks.append(("visible_matches", lambda out, p=pattern: re.search(p, out, re.M) is not None))
                elif (lit := _literal(pattern)) and len(lit) >= MIN_NEGATIVE_LEN:
                    checks.append(("hidden_matches", lambda out, p=pattern: re.search(p, out, re.M) is None))
    if spec.get("fragment_count") == 1 and not checks:  # one fragment: the whole body is the reply
        whole = normalize(body)
        checks.append(("single_fragment", lambda out, w=whole: normalize(out) == w))
    return checks


def expectation_cases(path: Path) -> Iterator[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    emails = path.parent / "emails"
    for name, spec in data["fixtures"].items():
        body = (emails / name).read_bytes().decode("utf-8")
        checks = reply_checks(spec, body)
        yield Case(name, body, checks, spec.get("max_seconds"))
    for inline in data.get("inline_cases", []):
        checks = reply_checks(inline, inline["input"])
        if checks:
            yield Case(f"inline:{inline['test']}", inline["input"], checks)


def run(cases: list[Case], extract: Extractor) -> dict:
    scored = correct = timed = timed_ok = 0
    failed: list[str] = []
    for case in cases:
        start = time.perf_counter()
        out = extract(case.body)
        elapsed = time.perf_counter() - start
        if case.max_seconds is not None:
            timed += 1
            timed_ok += elapsed <= case.max_seconds
        if not case.checks:
            continue
        scored += 1
        if all(check(out) for _, check in case.checks):
            correct += 1
        else:
            failed.append(case.name)
    result: dict = {"cases": scored, "correct": correct, "accuracy": round(correct / scored, 4) if scored else 0.0}
    if timed:
        result["timing"] = {"checked": timed, "within_limit": timed_ok}
    result["failed"] = failed
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--fixtures", type=Path, help="folder of NAME.eml|NAME.txt + NAME.expected.txt")
    source.add_argument("--expectations", type=Path, help="shared-dataset expectations.json")
    parser.add_argument("--baseline", action="store_true", help="plain EmailReplyParser.parse_reply")
    parser.add_argument("--dev-fixtures", type=Path, default=DEV_FIXTURES,
                        help="fixtures the rules were developed on; --expectations cases with the same body are dropped")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    cases = list(fixture_cases(args.fixtures) if args.fixtures else expectation_cases(args.expectations))
    leaked = 0
    if args.expectations and args.dev_fixtures.is_dir():
        # The quote rules were written against the repo's fixtures: a shared case with the same body is not held out.
        cases, leaked = remove_leaked(cases, [c.body for c in fixture_cases(args.dev_fixtures)], lambda c: c.body)
    extract: Extractor = EmailReplyParser.parse_reply if args.baseline else visible_reply
    result = {**run(cases, extract), "leaked_removed": leaked}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['correct']}/{result['cases']} correct ({result['accuracy']:.1%})")
        for name in result["failed"]:
            print(f"  failed: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
