"""Code shared by every process: configuration, Redis keys, schemas, the state store, events."""
