"""What a batch writes: counters only for what was counted (a quiet tick writes no row)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from vigia.automation.repository import BatchWrite

ORG, PIPELINE = uuid.uuid4(), uuid.uuid4()


def test_a_node_a_quiet_tick_passed_through_writes_no_counter_row() -> None:
    write = BatchWrite()
    write.count(ORG, PIPELINE, "zone", 0, 0, 0, None)
    assert write.counters == {} and write.empty()


def test_counts_of_one_node_add_up_and_keep_the_latest_firing() -> None:
    write = BatchWrite()
    early, late = datetime(2026, 12, 6, 2, 0, tzinfo=UTC), datetime(2026, 12, 6, 2, 1, tzinfo=UTC)
    write.count(ORG, PIPELINE, "zone", 2, 1, 0, late)
    write.count(ORG, PIPELINE, "zone", 0, 0, 0, None)
    write.count(ORG, PIPELINE, "zone", 1, 1, 1, early)
    assert write.counters == {(ORG, PIPELINE, "zone"): [3, 2, 1, late, None, None]} and not write.empty()


def test_a_nodes_latest_error_is_kept_with_its_time() -> None:
    write = BatchWrite()
    early, late = datetime(2026, 12, 6, 2, 0, tzinfo=UTC), datetime(2026, 12, 6, 2, 1, tzinfo=UTC)
    write.count(ORG, PIPELINE, "zone", 1, 0, 1, None, ("ValueError: late", late))
    write.count(ORG, PIPELINE, "zone", 1, 0, 1, None, ("ValueError: early", early))
    write.count(ORG, PIPELINE, "other", 0, 0, 0, None, ("x" * 5000, early))
    assert write.counters[(ORG, PIPELINE, "zone")] == [2, 0, 2, None, "ValueError: late", late]
    assert len(write.counters[(ORG, PIPELINE, "other")][4]) == 2000
