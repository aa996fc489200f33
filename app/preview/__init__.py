"""The WebSocket preview: fan-out of the render worker's JPEG frames to browsers."""
