# Bootstrap run with `python3 -c`: read the harness sources from the request
# pipe, make them importable from memory, and hand over to rulebench.main.
# Kept tiny and dependency-free; everything else arrives in the boot frame.
import importlib.abc, importlib.util, json, linecache, marshal, os, struct, sys


def _read(size):
    data = b""
    while len(data) < size:
        chunk = os.read(3, size - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


_boot = json.loads(_read(struct.unpack(">I", _read(4))[0]))


class _HarnessFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, modules):
        self.modules = modules

    def find_spec(self, fullname, path=None, target=None):
        entry = self.modules.get(fullname)
        if entry is None:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, origin=entry["file"], is_package=entry["package"])
        spec.has_location = True
        if entry["package"]:
            spec.submodule_search_locations = []
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        entry = self.modules[module.__name__]
        module.__file__ = entry["file"]
        # Tracebacks through harness code show its lines like any other file.
        linecache.cache[entry["file"]] = (len(entry["source"]), None, entry["source"].splitlines(True), entry["file"])
        exec(_code(module.__name__, entry), module.__dict__)


def _code(name, entry):
    # Compiled harness modules are cached beside the rules' bytecode, keyed
    # by the source's hash, so a worker boots without compiling them.
    prefix = _boot.get("pycache_prefix")
    path = None
    if prefix and entry.get("hash"):
        path = os.path.join(prefix, "rulebench-harness", "%s.%s.%s.bin" % (name, entry["hash"], sys.implementation.cache_tag))
        try:
            with open(path, "rb") as fh:
                return marshal.load(fh)
        except (OSError, ValueError, EOFError, TypeError):
            pass
    code = compile(entry["source"], entry["file"], "exec")
    if path:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = "%s.%d" % (path, os.getpid())
            with open(tmp, "wb") as fh:
                marshal.dump(code, fh)
            os.replace(tmp, path)
        except OSError:
            pass
    return code


sys.meta_path.insert(0, _HarnessFinder(_boot["modules"]))
import rulebench.main  # noqa: E402

if os.environ.get("RULEBENCH_PROFILE_DIR"):
    # Developer aid: profile the whole worker and leave the stats behind.
    import cProfile

    _profiler = cProfile.Profile()
    try:
        _profiler.runcall(rulebench.main.main, _boot)
    finally:
        _profiler.dump_stats(os.path.join(os.environ["RULEBENCH_PROFILE_DIR"], "worker-%d.prof" % os.getpid()))
else:
    rulebench.main.main(_boot)
