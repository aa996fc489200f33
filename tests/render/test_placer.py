"""The placement rules (render.placer.plan), a pure function over nodes and channels."""

from __future__ import annotations

from core.channels import Channel, OutputOverrides
from core.store.placement import NodeRecord, Placement
from render.placer import Decision, Demand, channel_demand, plan
from tests.render.conftest import HEIGHT, WIDTH


def node(node_id: str, capacity: float = 2.0, *, age: float = 0.1,
         draining: bool = False) -> NodeRecord:
    """A node record as read, `age` seconds old."""
    return NodeRecord(id=node_id, host="h", pid=1, capacity=capacity, load=0.0, channels=(),
                      costs={}, draining=draining, at=0, age=age)


def on(node_id: str | None, since: int = 1, cost: float = 1.0, epoch: int = 1) -> Placement:
    """A placement on `node_id` (None: unplaced)."""
    if node_id is None:
        return Placement("unplaced", None, epoch, since, cost, "needs 1.00 units")
    return Placement("placed", node_id, epoch, since, cost)


def test_new_channels_go_to_the_node_with_the_most_free_capacity() -> None:
    decisions = plan([node("a", 2.0), node("b", 3.0)],
                     [Demand("x", 1.0), Demand("y", 1.0), Demand("z", 1.0)])
    assert decisions == [Decision("x", "assign", "b", 1.0), Decision("y", "assign", "a", 1.0),
                         Decision("z", "assign", "b", 1.0)]


def test_placed_channels_stay_and_a_changed_cost_is_restated() -> None:
    demands = [Demand("x", 1.0, on("a")), Demand("y", 0.5, on("b", cost=1.0))]
    assert plan([node("a"), node("b", 5.0)], demands) == [
        Decision("y", "restate", "b", 0.5)]


def test_a_channel_that_fits_nowhere_is_unplaced_with_the_reason() -> None:
    demands = [Demand("first", 1.0, on("a", since=1, cost=0.0)),
               Demand("second", 1.0, on("a", since=2, cost=0.0))]
    assert plan([node("a", 1.0)], demands) == [
        Decision("first", "restate", "a", 1.0),
        Decision("second", "unplace", None, 1.0,
                 "needs 1.00 units, the most free on any node is 0.00")]
    # Already unplaced for that reason: nothing to write; a node with room: placed.
    unplaced = Demand("second", 1.0, Placement(
        "unplaced", None, 3, 2, 1.0, "needs 1.00 units, the most free on any node is 0.00"))
    assert plan([node("a", 1.0)], [demands[0], unplaced]) == [
        Decision("first", "restate", "a", 1.0)]
    assert plan([node("a", 1.0), node("b", 1.0)], [demands[0], unplaced]) == [
        Decision("first", "restate", "a", 1.0), Decision("second", "assign", "b", 1.0)]


def test_without_live_nodes_channels_read_unplaced() -> None:
    assert plan([node("a", age=1.5)], [Demand("x", 0.0, on("a"))]) == [
        Decision("x", "unplace", None, 0.0, "no render node is alive")]
    assert plan([node("a", draining=True)], [Demand("x", 0.0)]) == [
        Decision("x", "unplace", None, 0.0, "every render node is draining")]


def test_channels_of_a_dead_node_are_taken_over() -> None:
    demands = [Demand("x", 1.0, on("dead")), Demand("y", 1.0, on("b", since=5))]
    assert plan([node("dead", age=1.2), node("b")], demands) == [
        Decision("x", "assign", "b", 1.0, takeover=True)]


def test_a_node_whose_channels_outgrow_it_keeps_the_oldest() -> None:
    demands = [Demand("late", 1.5, on("a", since=9, cost=1.5)),
               Demand("early", 1.5, on("a", since=3, cost=1.5))]
    assert plan([node("a", 2.0), node("b", 2.0)], demands) == [
        Decision("late", "assign", "b", 1.5)]


def test_a_draining_node_hands_over_one_channel_at_a_time() -> None:
    nodes = [node("a", draining=True), node("b", 4.0)]
    demands = [Demand("x", 1.0, on("a", since=2)), Demand("y", 1.0, on("a", since=1))]
    assert plan(nodes, demands) == []  # its previous hand-over is not done yet
    assert plan(nodes, demands, may_drain={"a"}) == [Decision("y", "assign", "b", 1.0)]
    # Nowhere to go: it keeps them.
    assert plan([node("a", draining=True)], demands, may_drain={"a"}) == []


def test_cost_is_the_outputs_pixel_rate_plus_sources_and_nothing_when_stopped(
        settings) -> None:
    channel = Channel("x", "X", OutputOverrides(width=WIDTH, height=HEIGHT), 1, 1)
    live = '{"state": "live", "version": 2, "startTime": 1, "updatedAt": 1}'
    beats = ['{"at": 5, "sourceCost": 0.5}', '{"at": 9, "sourceCost": 0.25}', "junk"]
    assert channel_demand(channel, live, beats, settings) == 320 * 180 / (1280 * 720) + 0.25
    assert channel_demand(channel, None, beats, settings) == 0.0
    assert channel_demand(channel, live.replace("live", "stopped"), [], settings) == 0.0
