"""The rules for a job's output events: merging neighbours, and the caps."""

from __future__ import annotations

from jobmanager.domain.events import Chunk, OutputBudget, Truncation, coalesce, cut


def test_neighbours_of_one_paragraph_and_stream_merge_in_order() -> None:
    chunks = [
        Chunk(1, "stdout", "a"),
        Chunk(1, "stdout", "b"),
        Chunk(1, "stderr", "!"),
        Chunk(1, "stdout", "c"),
        Chunk(2, "stdout", "d"),
        Chunk(2, "stdout", ""),
        Chunk(2, "stdout", "e"),
    ]
    assert coalesce(chunks) == [
        Chunk(1, "stdout", "ab"),
        Chunk(1, "stderr", "!"),
        Chunk(1, "stdout", "c"),
        Chunk(2, "stdout", "de"),
    ]


def test_a_cut_never_splits_a_character() -> None:
    assert cut("aé€", 1) == "a"
    assert cut("aé€", 2) == "a"
    assert cut("aé€", 3) == "aé"
    assert cut("aé€", 100) == "aé€"
    assert cut("abc", -1) == ""


def test_a_paragraph_keeps_up_to_its_cap_and_the_cap_is_said_once() -> None:
    budget = OutputBudget(step_limit=10, job_limit=100)
    assert budget.take(Chunk(1, "stdout", "123456")) == (Chunk(1, "stdout", "123456"), None)
    kept, notice = budget.take(Chunk(1, "stdout", "789012"))
    assert kept == Chunk(1, "stdout", "7890")
    assert notice == Truncation(1, "paragraph", 10)
    assert budget.take(Chunk(1, "stderr", "more")) == (None, None)
    budget.next_step()
    assert budget.take(Chunk(2, "stdout", "fresh")) == (Chunk(2, "stdout", "fresh"), None)


def test_the_job_cap_holds_across_paragraphs() -> None:
    budget = OutputBudget(step_limit=10, job_limit=15, unit="cell")
    budget.take(Chunk(1, "stdout", "1234567890"))
    budget.next_step()
    kept, notice = budget.take(Chunk(2, "stdout", "abcdefgh"))
    assert kept == Chunk(2, "stdout", "abcde")
    assert notice is not None and notice.payload() == {
        "index": 2,
        "scope": "job",
        "limitBytes": 15,
    }
    budget.next_step()
    assert budget.take(Chunk(3, "stdout", "x")) == (None, None)


def test_a_chunk_that_lands_exactly_on_the_cap_needs_no_notice_until_more_comes() -> None:
    budget = OutputBudget(step_limit=4, job_limit=100, unit="cell")
    assert budget.take(Chunk(1, "stdout", "1234")) == (Chunk(1, "stdout", "1234"), None)
    assert budget.take(Chunk(1, "stdout", "5")) == (None, Truncation(1, "cell", 4))
