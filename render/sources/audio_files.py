"""An audio-only file in its source process (`SourceSpec.audio_only`: the bed's tracks).

The first audio stream is decoded and reported like a video file's sound
(render.sources.audio_track), timed pts - the stream's start time, from the start and then as
the parent's seeks say. It never loops: at the end it reports "ended", corrects the duration
to where its last sample ends (at least the duration it declares) and holds until a seek.
It has no ring to pace it, so it paces itself on the heartbeat's `played` cell (how far the
render thread has read its sound): a chunk is handed over only once it starts at most
AUDIO_AHEAD beyond that (after a wait, REFILL less, so it wakes a few times a second), so the
parent holds about that much of the track, however long it is, and a seek finds little to
throw away.
"""

from __future__ import annotations

import av

from render.sources.audio_track import BATCH, AudioTrack, Sound
from render.sources.child import WAIT_STEP, Link, Refused, open_file
from render.sources.spec import SourceSpec

# Seconds of sound decoded beyond what the render thread has read.
AUDIO_AHEAD = 2.0
# Packets in a row that fail to decode before the file counts as undecodable.
MAX_BAD_PACKETS = 100
# Once ahead, the process waits until the render thread has read this much, then decodes
# that much at once: a few wake-ups a second instead of one a chunk.
REFILL = 0.5
# A seek lands this much before the asked time: an AAC or MP3 frame overlaps the one before
# it, so the first decoded after a seek is wrong; it is decoded and left out.
PREROLL = 0.1


def play_audio_file(spec: SourceSpec, link: Link) -> None:
    """Play the sound of the file at `spec.location` until killed; Refused if it cannot."""
    with open_file(spec, link) as container:
        AudioFilePlayer(link, container).run()


class AudioFilePlayer:
    """Decodes one opened file's sound, as far ahead of the render thread as allowed."""

    def __init__(self, link: Link, container: av.container.InputContainer) -> None:
        if not container.streams.audio:
            raise Refused("no audio stream")
        self._link = link
        self._container = container
        audio = self._audio = container.streams.audio[0]
        self._time_base = audio.time_base or 1
        self._start = float(audio.start_time * self._time_base) if audio.start_time else 0.0
        self._track = AudioTrack(audio, link)
        self._codec = audio.codec_context.name
        self._duration = _declared_length(container, audio)
        self._report_info()

    def run(self) -> None:
        """Play from the start, then as the parent's seeks say; never returns."""
        for _ in self._link.passes(self._seek, self._play):
            if not self._track.decoded_any:
                raise Refused("no audio decodes")
            # Where the last sample ends (an AAC file's last frame runs past the duration it
            # declares, by up to 1024 samples), at least the duration declared.
            duration = max(self._duration or 0.0, self._track.end)
            if duration > 0 and self._duration != duration:
                self._duration = duration
                self._report_info()
            self._link.hold()

    def _report_info(self) -> None:
        self._link.report("info", {"width": None, "height": None, "fps": None,
                                   "codec": self._codec, "audio": True,
                                   "duration": self._duration})

    def _play(self, target: float | None) -> bool:
        """Hand over the sound from `target` (None: where the file stands) to the end (True)
        or until a seek arrives (False)."""
        track = self._track
        track.restart(skip_before=target)
        bad = 0
        for packet in self._container.demux(self._audio):
            self._link.beat()
            self._link.poll()
            if self._link.seek_to is not None:
                return False
            failed = track.bad
            sounds = track.decode(packet, -self._start)
            bad = bad + 1 if track.bad > failed else 0
            if bad > MAX_BAD_PACKETS:
                raise Refused("the audio does not decode")
            for sound in sounds:
                if not self._send(sound):
                    return False
        track.flush()
        return self._link.seek_to is None

    def _send(self, sound: Sound) -> bool:
        """Hand `sound` over once it is at most AUDIO_AHEAD beyond what the render thread
        has read (having had to wait, at most AUDIO_AHEAD - REFILL); False when a seek
        arrives first."""
        if sound.seconds - self._link.played() > AUDIO_AHEAD:
            self._track.flush()
            # The render thread reads in real time: wait about as long as it takes.
            while (ahead := sound.seconds - self._link.played() - AUDIO_AHEAD + REFILL) > 0:
                if self._link.seek_to is not None:
                    return False
                self._link.beat()
                self._link.poll(min(WAIT_STEP, ahead))
        if self._link.seek_to is not None:
            return False
        self._link.decoded()
        self._track.send(sound, BATCH)
        return True

    def _seek(self, timeline: float) -> float:
        """Go to the packet PREROLL before timeline time `timeline`."""
        timeline = max(0.0, timeline)
        position = max(0.0, timeline - PREROLL) + self._start
        self._container.seek(max(0, int(position / self._time_base)), stream=self._audio,
                             backward=True, any_frame=False)
        return timeline


def _declared_length(container: av.container.InputContainer,
                     audio: av.audio.stream.AudioStream) -> float | None:
    if audio.duration and audio.time_base:
        return float(audio.duration * audio.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None
