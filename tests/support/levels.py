"""Audio levels shaped as the render worker reports and publishes them (issue 15 contract,
section 3), for tests that pass them through the store, the API and the preview."""

from __future__ import annotations

from typing import Any

LEVELS: dict[str, Any] = {
    "program": {"momentaryLufs": -14.2, "shortTermLufs": -14.0, "integratedLufs": None,
                "truePeakDb": -1.3, "peakDb": -1.5, "rmsDb": -17.0, "gainDb": 18.7},
    "layers": {"3f2a9c0b1d4e": {"peakDb": -6.0, "rmsDb": -20.1}},
    "bed": {"peakDb": -30.0, "rmsDb": -40.0, "state": "playing", "track": "bed.m4a",
            "index": 0, "position": 12.3, "duration": 20.0},
}
