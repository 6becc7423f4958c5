"""Every benchmark's leakage guard (bench.leakage) removes a planted copy of a test text and counts it."""

from __future__ import annotations

import json
from pathlib import Path

from bench import email_replies
from bench.decide import held_out_pair
from bench.leakage import remove_leaked
from bench.retrieval import Row, without_leaks

TEST_TEXT = "How do I change the shipping address on my order?"


def test_a_planted_copy_is_removed_up_to_case_and_spacing() -> None:
    train = ["Where is my parcel?", "  how do I CHANGE the shipping   address on my order? ", "Cancel my plan"]
    kept, removed = remove_leaked(train, [TEST_TEXT])
    assert removed == 1 and kept == ["Where is my parcel?", "Cancel my plan"]
    # A near paraphrase is not a copy: the guard is exact, by hash.
    assert remove_leaked(["How can I change the shipping address of my order?"], [TEST_TEXT])[1] == 0


def test_a_kb_document_quoting_a_test_text_as_a_sentence_is_removed() -> None:
    docs = ["# Shipping\n\nWe ship in 2 days. How do I change the shipping address on my order? Use Settings.",
            "# Refunds\n\nRefunds take five days."]
    kept, removed = remove_leaked(docs, [TEST_TEXT], documents=True)
    assert removed == 1 and kept == docs[1:]


def test_decide_bench_drops_a_training_row_that_repeats_a_test_row(tmp_path: Path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("text,category\nWhere is my parcel?,delivery\n"
                     f"\"{TEST_TEXT.upper()}\",shipping_address\nCancel my plan,cancel\n", encoding="utf-8")
    test.write_text(f"text,category\n\"{TEST_TEXT}\",shipping_address\n", encoding="utf-8")
    kept, held, removed = held_out_pair(train, test, 0.2, 0)
    assert removed == 1 and TEST_TEXT.upper() not in kept.texts and held.texts == [TEST_TEXT]


def test_retrieval_bench_keeps_test_questions_out_of_the_kb_it_builds() -> None:
    train = [Row("Where is my parcel?", "track", "Track it under Orders."),
             Row("Shipping address?", "address", f"Customers ask: {TEST_TEXT} Go to Orders and edit it."),
             Row("Refund please", "refund", "Refunds take five days.")]
    kept, leaked = without_leaks(train, [Row(TEST_TEXT, "address", "")])
    assert leaked == 1 and [r.intent for r in kept] == ["track", "refund"]


def test_email_bench_drops_shared_cases_identical_to_the_development_fixtures(tmp_path: Path, capsys) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    body = "Thanks, that fixed it.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Support wrote:\n> Try again\n"
    (dev / "planted.txt").write_text(body, encoding="utf-8")
    (dev / "planted.expected.txt").write_text("Thanks, that fixed it.", encoding="utf-8")
    shared = tmp_path / "shared"
    (shared / "emails").mkdir(parents=True)
    (shared / "emails" / "copy.txt").write_text(body, encoding="utf-8")
    (shared / "emails" / "other.txt").write_text("A new reply.\n", encoding="utf-8")
    (shared / "expectations.json").write_text(json.dumps({"fixtures": {
        "copy.txt": {"reply_contains": ["Thanks, that fixed it."]},
        "other.txt": {"reply_contains": ["A new reply."]}}}), encoding="utf-8")
    email_replies.main(["--expectations", str(shared / "expectations.json"), "--dev-fixtures", str(dev), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["leaked_removed"] == 1 and result["cases"] == 1
