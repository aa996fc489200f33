"""The shared benchmark media (../shared/bench/make_assets.py): the reference scene's images,
`bg.mp4` (1280x720 at 30 fps, 10 s, a white 160x160 square top-left for 3 frames at each whole
second) and `bed.m4a`. Deterministic, so a session makes them once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAKE_ASSETS = Path(__file__).resolve().parents[3] / "shared" / "bench" / "make_assets.py"


def make_assets(folder: Path) -> Path:
    """Write the assets into `folder` (made if missing); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(MAKE_ASSETS), str(folder)], capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode != 0 or not (folder / "bg.mp4").exists():
        raise RuntimeError(f"{MAKE_ASSETS} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return folder
