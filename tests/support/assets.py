"""The shared benchmark media (../shared/bench/make_assets.py): the reference scene's images,
`bg.mp4` (1280x720 at 30 fps, 10 s, a white 160x160 square top-left for 3 frames at each whole
second) and `bed.m4a`. Deterministic, so a session makes them once, in a process of its own
started early (`AssetsMaker`): its seconds of CPU pass while the first tests wait on real
time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAKE_ASSETS = Path(__file__).resolve().parents[3] / "shared" / "bench" / "make_assets.py"


class AssetsMaker:
    """make_assets.py writing into `folder` (made if missing) in the background."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> AssetsMaker:
        """Start writing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [sys.executable, str(MAKE_ASSETS), str(self.folder)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        return self

    def wait(self) -> Path:
        """The folder, once written (started now if it was not)."""
        if self._process is None:
            self.start()
        assert self._process is not None
        output, _ = self._process.communicate(timeout=300)
        if self._process.returncode != 0 or not (self.folder / "bg.mp4").exists():
            raise RuntimeError(f"{MAKE_ASSETS} failed ({self._process.returncode}):\n{output}")
        return self.folder

    def stop(self) -> None:
        """Kill it if it is still writing (the session ended first)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
