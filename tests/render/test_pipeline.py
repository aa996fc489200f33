"""The pipeline of a stream, built before the frame clock starts."""

from __future__ import annotations

from pathlib import Path

from core.config import load_settings
from core.outputs import OutputTarget
from render.pipeline import Pipeline
from tests.render.conftest import FPS, HEIGHT, WIDTH
from tests.support.nginx_rtmp import NginxRtmp


def test_a_pipeline_is_built_once_its_sender_processes_are_up(tmp_path: Path,
                                                              nginx_rtmp: NginxRtmp) -> None:
    """A sender process spends a few hundred ms of CPU starting; built after it, the frame
    clock does not share the two cores with it during the first frames."""
    settings = load_settings({"OUTPUT_WIDTH": str(WIDTH), "OUTPUT_HEIGHT": str(HEIGHT),
                              "RENDER_FPS": str(FPS)})
    targets = [OutputTarget(id="rec", name="recording", kind="record",
                            address=str(tmp_path / "recordings")),
               OutputTarget(id="live", name="ingest", kind="rtmp",
                            address=nginx_rtmp.url("key"))]
    pipeline = Pipeline(settings, targets)
    try:
        assert [destination.wait_started(0) for destination in pipeline.destinations] == [
            True, True]
    finally:
        pipeline.close()
