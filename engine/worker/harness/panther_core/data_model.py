"""Data models: per-log-type mappings from unified field names to event fields."""

from rulebench.jsonpath import compile_path

E_NO_DATA_MODEL_FOUND = "a data model hasn't been specified for log type"


class DataModel:
    """Mappings of one data model.

    `paths` maps a unified name to a compiled JSONPath; `methods` maps a name
    to a function of the data model's module. Methods are resolved lazily by
    `method_resolver` so a data model whose Python fails to import only breaks
    the lookups that need it.
    """

    def __init__(self, data_model_id, mappings, method_resolver=None):
        self.data_model_id = data_model_id
        self.paths = {}
        self.methods = {}
        self._method_names = {}
        self._resolver = method_resolver
        for mapping in mappings:
            name = mapping.get("name")
            if not name:
                raise AssertionError("DataModel [%s] is missing required field: [Name]" % data_model_id)
            if mapping.get("path"):
                self.paths[name] = compile_path(mapping["path"])
            elif mapping.get("method"):
                self._method_names[name] = mapping["method"]
                self.methods[name] = None
            else:
                raise AssertionError(
                    "DataModel [%s] is missing a field or method for [%s]" % (data_model_id, name)
                )

    def method(self, name):
        """The function mapped to `name`, importing the data model's module on first use."""
        if name not in self._method_names:
            return None
        fn = self.methods.get(name)
        if fn is None:
            if self._resolver is None:
                raise AssertionError("DataModel [%s] has no Python file for method mappings" % self.data_model_id)
            fn = self._resolver(self._method_names[name])
            self.methods[name] = fn
        return fn
