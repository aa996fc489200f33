"""The frame clock keeps real time: late frames drop slots instead of drifting."""

from __future__ import annotations

from render.clock import FrameClock


class FakeTime:
    """A monotonic clock the test moves; sleeping advances it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_slots_follow_the_fps_grid_without_drift() -> None:
    fake = FakeTime()
    clock = FrameClock(30, now=fake, sleep=fake.sleep)
    slots = []
    for _ in range(300):
        slots.append(clock.next_slot())
        fake.now += 0.004  # 4 ms of work per frame
    assert slots == list(range(300))
    assert clock.dropped == 0
    # Ten seconds of slots end ten seconds after the start, whatever the work took.
    assert abs(fake.now - (100.0 + 299 / 30 + 0.004)) < 1e-6


def test_a_late_frame_drops_the_slots_it_missed_and_counts_them() -> None:
    fake = FakeTime()
    clock = FrameClock(30, now=fake, sleep=fake.sleep)
    assert clock.next_slot() == 0
    fake.now += 0.150  # one frame took 150 ms: slots 1-3 are gone, slot 4 is due now
    assert clock.next_slot() == 4
    assert clock.dropped == 3
    # Back on the grid afterwards: the next slot waits for its own time.
    before = fake.now
    assert clock.next_slot() == 5
    assert abs(fake.now - clock.due(5)) < 1e-9 and fake.now > before


def test_a_frame_late_within_its_own_interval_is_not_dropped() -> None:
    fake = FakeTime()
    clock = FrameClock(25, now=fake, sleep=fake.sleep)
    clock.next_slot()
    fake.now += 0.05  # 50 ms: slot 1 (due at 40 ms) is late but still current
    assert clock.next_slot() == 1
    assert clock.dropped == 0


def test_a_timeline_begun_after_the_first_frame_drops_nothing_for_its_cost() -> None:
    fake = FakeTime()
    clock = FrameClock(30, now=fake, sleep=fake.sleep)
    assert clock.next_slot() == 0
    fake.now += 0.150  # the first frame: every tile rasterised, the encoder's first keyframe
    clock.begin_now()
    made_at = fake.now
    assert clock.next_slot() == 1
    assert clock.dropped == 0
    # Slot 1 is due one frame after the first frame was made, and the grid goes on from there.
    assert abs(fake.now - (made_at + 1 / 30)) < 1e-9
    fake.now += 0.004
    assert clock.next_slot() == 2 and abs(fake.now - (made_at + 2 / 30)) < 1e-9
