"""Event types appended to the capped event stream (`Keys.events`) by every mutation.

Each entry has two fields: `type`, one of the names below, and `data`, the JSON of the changed
resource (for deletions: its id and the version the deletion would have had). The render
worker applies them between frames; the preview fan-out forwards layer events as layerUpdate.
"""

LAYER_CREATED = "layer.created"
LAYER_UPDATED = "layer.updated"
LAYER_DELETED = "layer.deleted"
LAYER_VISIBILITY = "layer.visibility"
LAYERS_REORDERED = "layers.reordered"
STREAM_STATE = "stream.state"
CHAT_POSTED = "chat.posted"
OUTPUT_CREATED = "output.created"
OUTPUT_UPDATED = "output.updated"
OUTPUT_DELETED = "output.deleted"
# data: the program audio settings (master, bed, loudness) and their version.
AUDIO_UPDATED = "audio.updated"
# data: {"events": [{"type", "data"}, ...] (layer events, applied on one frame), and optionally
# "transition" (every changed layer tweens), "take" (a scene take: sceneId, name, type
# cut|fade|wipe, durationMs) and "effectiveAt" (epoch ms: the first frame at or after it).
LAYERS_BATCH = "layers.batch"
SCENE_SAVED = "scene.saved"
SCENE_DELETED = "scene.deleted"
CUE_SAVED = "cue.saved"
CUE_DELETED = "cue.deleted"
