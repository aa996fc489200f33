"""The layer types, one module each: its content class, its content schema and its entry in
the registry (core.layers.registry imports every module here)."""
