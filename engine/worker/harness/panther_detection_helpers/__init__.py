"""rulebench's panther_detection_helpers: the caching API, backed by rulebench."""

from . import caching

__all__ = ["caching"]
