# `python -m MODULE ARGS` without starting a Python: run_module() calls the
# module's main() in this process as if it were a process of its own, and
# returns what subprocess.run(..., capture_output=True, text=True) returns.
# Assumes MODULE ends like modelcut.cli: `if __name__ == "__main__":
# sys.exit(main())`. What a process shows only as a process (an exit by a
# signal, a timeout, resource limits, what it imports or logs at start-up)
# cannot be seen here: cli_support.run_cli runs a subprocess for those.
import contextlib
import ctypes
import importlib
import locale
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback
import warnings

_LIBC = ctypes.CDLL(None)

# Settings a new interpreter reads from its environment at start-up, which
# this one cannot take on afterwards: where one is set, run a subprocess.
START_UP_SETTINGS = ("PYTHONWARNINGS", "PYTHONDEVMODE")


def run_module(module: str, args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Runs `module`'s main() with sys.argv as `python -m module *args` sets
    it, in the working directory `cwd` and the environment `env` (the whole
    environment, as subprocess.run's env=), stdin at /dev/null.

    The exit status is what that process would exit with: main()'s result,
    a SystemExit's code, or 1 and the traceback on stderr for any other
    exception. stdout and stderr are what reached the descriptors 1 and 2,
    from Python, C and C++ alike. Afterwards everything main() may have
    changed in this process is as it was: environment, working directory,
    sys.argv, sys.path, signal handlers, levels of the loggers, warning
    filters."""
    args = [str(arg) for arg in args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with (
            _interpreter_state(),
            _working_directory(cwd),
            _environment(env),
            _descriptors(out, err),
            _fresh_warnings(module),
            _fresh_logging(),
        ):
            status = _exit_status(module, args)
        out.seek(0)
        err.seek(0)
        stdout, stderr = _as_text(out.read()), _as_text(err.read())
    return subprocess.CompletedProcess([sys.executable, "-m", module, *args], status, stdout, stderr)


def _exit_status(module: str, args: list[str]) -> int:
    # NB: while `python -m` imports the module, sys.argv[0] is "-m"; then the module's path.
    sys.argv = ["-m", *args]
    try:
        loaded = importlib.import_module(module)
        sys.argv = [loaded.__file__, *args]
        raise SystemExit(loaded.main())
    except SystemExit as exit:
        return _status_of(exit.code)
    except KeyboardInterrupt:
        raise  # Ctrl-C on the tests (main() catches its own)
    except BaseException:
        traceback.print_exc()  # as the interpreter prints an uncaught exception
        return 1


def _status_of(code) -> int:
    """The exit status of a process ended by SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF  # what the parent sees of exit(code)
    print(code, file=sys.stderr)  # the interpreter prints any other code, and exits 1
    return 1


def _as_text(data: bytes) -> str:
    """`data` as subprocess.run(text=True) decodes it: the locale's
    encoding, universal newlines."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------ process state


@contextlib.contextmanager
def _interpreter_state():
    """sys.argv, sys.path, sys.dont_write_bytecode and the signal handlers
    put back afterwards."""
    argv, path, dont_write_bytecode = sys.argv, list(sys.path), sys.dont_write_bytecode
    handlers = _signal_handlers()
    try:
        yield
    finally:
        sys.argv = argv
        sys.path[:] = path
        sys.dont_write_bytecode = dont_write_bytecode
        for signum, handler in handlers.items():
            if signal.getsignal(signum) != handler:
                signal.signal(signum, handler)


def _signal_handlers() -> dict:
    handlers = {}
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        if handler is not None:  # None: set outside Python, cannot be set back from it
            handlers[signum] = handler
    return handlers


@contextlib.contextmanager
def _working_directory(cwd):
    saved = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)  # a folder that is not there raises here, as in subprocess.run
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _environment(env):
    saved = dict(os.environ)
    try:
        if env is not None:
            _set_environment(env)
        yield
    finally:
        _set_environment(saved)


def _set_environment(wanted) -> None:
    for name in [name for name in os.environ if name not in wanted]:
        del os.environ[name]
    for name, value in wanted.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


# ---------------------------------------------------------------- streams


@contextlib.contextmanager
def _descriptors(out, err):
    """Descriptors 0 at /dev/null, 1 at `out` and 2 at `err`, and Python's
    sys.stdin, sys.stdout and sys.stderr over them as a new interpreter
    opens them (pytest's sys.stdout and sys.stderr write to its own files,
    not to the descriptors)."""
    _flush_everything()
    saved_descriptors = [os.dup(fd) for fd in (0, 1, 2)]
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    opened = []
    try:
        with open(os.devnull, "rb") as devnull:
            os.dup2(devnull.fileno(), 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        opened = [
            _standard_stream(0, "r", sys.__stdin__, "strict"),
            _standard_stream(1, "w", sys.__stdout__, "strict"),
            _standard_stream(2, "w", sys.__stderr__, "backslashreplace", line_buffering=True),
        ]
        sys.stdin, sys.stdout, sys.stderr = opened
        yield
    finally:
        _flush_everything()  # C's stdio buffers too: the C++ core's and its libraries' output
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for stream in opened:
            with contextlib.suppress(OSError, ValueError):
                stream.close()  # closefd=False: the descriptor stays open
        for fd, saved in zip((0, 1, 2), saved_descriptors):
            os.dup2(saved, fd)
            os.close(saved)


def _standard_stream(fd: int, mode: str, like, errors: str, line_buffering: bool = False):
    """A text stream over `fd` with the encoding a new interpreter would give
    it in this environment (that of `like`, this one's original stream)."""
    encoding = getattr(like, "encoding", None) or locale.getpreferredencoding(False)
    errors = getattr(like, "errors", None) or errors
    return open(
        fd,
        mode,
        encoding=encoding,
        errors=errors,
        newline="\n" if "w" in mode else None,
        buffering=1 if line_buffering else -1,
        closefd=False,
    )


def _flush_everything() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    _LIBC.fflush(None)


# ------------------------------------------------------ warnings, logging


@contextlib.contextmanager
def _fresh_warnings(module: str):
    """The warning filters of a new interpreter, and warnings printed on
    stderr (pytest records them instead); this process's own filters and
    printing are back afterwards. The registries of warnings already shown
    start empty, as in a new process."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        # `python -c 'import warnings; print(warnings.filters)'`, last first
        # (each call puts its filter in front); __main__ is `module` there.
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.simplefilter("ignore", ImportWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("default", category=DeprecationWarning, module=re.escape(module) + r"\Z")
        warnings.showwarning = _print_warning
        yield


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    with contextlib.suppress(OSError):
        (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def _fresh_logging():
    """Logging as a new process has it: the root logger at WARNING with no
    handler (pytest's would take the records; a process prints warnings on
    stderr, through logging.lastResort), and handlers that were opened on
    pytest's captured stderr printing on stderr. The loggers' levels, also
    absl's verbosity and stderr threshold (TensorFlow's logging), are set
    back afterwards; loggers created meanwhile keep theirs, as modules
    imported meanwhile stay imported."""
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    levels = {logger: (logger.level, logger.disabled) for logger in loggers}
    root_handlers, disabled = root.handlers[:], logging.root.manager.disable
    redirected = {
        handler: handler.stream
        for logger in loggers[1:]
        for handler in logger.handlers
        if type(handler) is logging.StreamHandler and type(handler.stream).__module__.startswith("_pytest")
    }
    absl = _absl_settings()
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
    for handler in redirected:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        for handler, stream in redirected.items():
            handler.setStream(stream)
        root.handlers[:] = root_handlers
        logging.disable(disabled)
        for logger, (level, was_disabled) in levels.items():
            if logger.level != level:
                logger.setLevel(level)
            logger.disabled = was_disabled
        _set_absl_settings(absl)


def _absl_settings():
    absl = sys.modules.get("absl.logging")
    if absl is None:
        return None
    return absl, absl.get_verbosity(), absl.FLAGS["stderrthreshold"].value


def _set_absl_settings(saved) -> None:
    if saved is None:
        return
    absl, verbosity, threshold = saved
    if absl.get_verbosity() != verbosity:
        absl.set_verbosity(verbosity)
    if absl.FLAGS["stderrthreshold"].value != threshold:
        absl.set_stderrthreshold(threshold)
