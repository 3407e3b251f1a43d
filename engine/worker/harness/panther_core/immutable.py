"""Read-only views over event data, as Panther hands events to rules.

Nested dicts and lists come back wrapped too, so a rule can never change the
event another rule (or the next function of the same rule) sees.
"""

from collections.abc import Mapping, Sequence
from copy import deepcopy


class ImmutableContainerMixin:
    """Shared behaviour of the read-only containers."""

    # mutable type -> read-only wrapper class, filled by register()
    _CONVERSIONS = {}

    @classmethod
    def mutable_type(cls):
        raise NotImplementedError

    @classmethod
    def register(cls):
        ImmutableContainerMixin._CONVERSIONS[cls.mutable_type()] = cls

    def __init__(self, container):
        self._container = self._shallow_copy(container)

    def _shallow_copy(self, obj):
        raise NotImplementedError

    def copy(self):
        """A mutable deep copy of the wrapped data."""
        return self.mutable_type()(deepcopy(self._container))

    def __getitem__(self, item):
        return self._ensure_immutable(self._container[item])

    @staticmethod
    def _ensure_immutable(value):
        wrapper = ImmutableContainerMixin._CONVERSIONS.get(type(value))
        if wrapper is not None:
            return wrapper(value)
        return value

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self._container)

    def __len__(self):
        return len(self._container)

    def __iter__(self):
        return (self._ensure_immutable(element) for element in self._container)


class ImmutableCaseInsensitiveDict(ImmutableContainerMixin, Mapping):
    """Read-only mapping whose string keys match regardless of case.

    An exact match is tried first; the lower-case index is only built when a
    lookup misses, because most rules spell keys exactly as the log does.
    """

    def __init__(self, container):
        super().__init__(container)
        self._lower_keys = None

    @classmethod
    def mutable_type(cls):
        return dict

    def _shallow_copy(self, obj):
        if isinstance(obj, ImmutableContainerMixin):
            obj = obj._container
        if obj is None:
            return {}
        return dict(obj)

    def to_dict(self):
        """A mutable deep copy of the event."""
        return self.copy()

    def _original_key(self, key):
        if self._lower_keys is None:
            index = {}
            for original in self._container:
                if isinstance(original, str):
                    # On a collision the first key in document order wins.
                    index.setdefault(original.lower(), original)
            self._lower_keys = index
        if not isinstance(key, str):
            return None
        return self._lower_keys.get(key.lower())

    def __getitem__(self, key):
        container = self._container
        if key in container:
            return self._ensure_immutable(container[key])
        original = self._original_key(key)
        if original is None:
            raise KeyError(key)
        return self._ensure_immutable(container[original])

    def __contains__(self, key):
        if key in self._container:
            return True
        return self._original_key(key) is not None

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key, value):
        raise TypeError("'%s' object does not support item assignment" % type(self).__name__)

    def __delitem__(self, key):
        raise TypeError("'%s' object does not support item deletion" % type(self).__name__)


class ImmutableList(ImmutableContainerMixin, Sequence):
    """Read-only sequence; compares equal to lists and tuples with the same items."""

    @classmethod
    def mutable_type(cls):
        return list

    def _shallow_copy(self, obj):
        if isinstance(obj, ImmutableContainerMixin):
            obj = obj._container
        return tuple(obj)

    def __eq__(self, other):
        if isinstance(other, ImmutableList):
            return self._container == other._container
        if isinstance(other, (list, tuple)):
            return self._container == tuple(other)
        return False

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def as_list(self):
        """A mutable deep copy of the list."""
        return self.copy()

    def __setitem__(self, key, value):
        raise TypeError("'%s' object does not support item assignment" % type(self).__name__)


ImmutableList.register()
ImmutableCaseInsensitiveDict.register()


def json_encoder(obj):
    """`default=` hook for json.dumps that unwraps the read-only containers."""
    if isinstance(obj, ImmutableContainerMixin):
        return obj._container
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


__all__ = [
    "ImmutableContainerMixin",
    "ImmutableCaseInsensitiveDict",
    "ImmutableList",
    "json_encoder",
]
