"""The render worker: compositor, layer rasterisers, frame clock, encoder and outputs.

Built in a later issue; it imports only `core` and meets the other processes through Redis.
"""
