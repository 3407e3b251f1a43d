"""Exceptions panther_core raises to rule code."""


class PantherError(Exception):
    """A problem Panther reports against the detection, not a bug in it."""


class FunctionReturnTypeError(PantherError):
    """A detection function returned a value of the wrong type."""


class UnknownDestinationError(PantherError):
    """A destinations() result named a destination that does not exist."""
