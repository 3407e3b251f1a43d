"""rulebench's implementation of the parts of panther_core that rules import."""

from .enriched_event import PantherEvent
from .immutable import ImmutableCaseInsensitiveDict, ImmutableList

__all__ = ["PantherEvent", "ImmutableCaseInsensitiveDict", "ImmutableList"]
