"""The seam between hyperstar and hpbandster's Pyro4 transport: plain types, a shared secret, a nameserver.

hpbandster 0.7.4 sends configurations and budgets through Pyro4 with the *serpent* serializer.
With numpy 2 and ConfigSpace 1.x that breaks: ConfigSpace hands out ``numpy.str_`` /
``numpy.int64`` (serpent refuses them) and hpbandster's budgets are ``numpy.float64`` (serpent
writes ``np.float64(1.0)``, which the other side cannot read). Everything that crosses goes
through :func:`plain_config` / :func:`plain_budget` / :func:`plain_info` first. Pyro stays on its
safe serializer; pickle is never accepted (it would let anyone who reaches a worker run code on it).

Security. Every daemon binds to ``127.0.0.1`` unless a ``host`` is given. For runs across
machines, a shared secret authenticates every Pyro message with an HMAC (Pyro4's
``_pyroHmacKey``): a worker started with another secret cannot even reach the nameserver, let alone
take jobs. hpbandster creates its Pyro proxies and daemons itself, so :func:`pyro_secret` installs
the key process-wide on every Pyro4 proxy, daemon and nameserver lookup made while it is active;
the key is also stripped from proxies serialised onto the wire (Pyro4 would send it in clear).

Example::

    >>> from hyperstar.hpo.seam import NameServer, pyro_secret
    >>> with pyro_secret("s3cret"), NameServer(host="127.0.0.1") as ns:
    ...     print(ns.host, ns.port > 0)      # a free port, authenticated with the secret
    127.0.0.1 True
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import secrets as _secrets
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import Pyro4
import Pyro4.constants
import Pyro4.core
import Pyro4.errors
import Pyro4.naming

from hyperstar._internal.convert import json_safe
from hyperstar._internal.io import atomic_write_json
from hyperstar.exceptions import HyperstarError, InvalidInputError

__all__ = [
    "plain_config",
    "plain_budget",
    "plain_info",
    "budget_to_epochs",
    "pyro_secret",
    "current_secret",
    "new_secret",
    "secure_pyro_config",
    "NameServer",
    "locate_nameserver",
    "ConnectionInfo",
    "write_connection_file",
    "read_connection_file",
    "SecretMismatchError",
    "DEFAULT_HOST",
    "CONNECTION_FILE",
    "SECRET_ENV",
]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
CONNECTION_FILE = "nameserver.json"
SECRET_ENV = "HYPERSTAR_SECRET"
_UNSAFE_SERIALIZERS = ("pickle", "dill", "cloudpickle")
#: Pyro4's threaded server refuses connections beyond its pool; every worker keeps one open to the master.
MIN_THREADPOOL = 256


class SecretMismatchError(HyperstarError):
    """The other side of a Pyro connection uses another shared secret (or none)."""


# --------------------------------------------------------------------------- plain types


def _plain_scalar(value: Any, where: str) -> Any:
    if type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _plain_scalar(value.item(), where)
    raise TypeError(f"{where} holds a {type(value).__name__} ({value!r}); only str, int, float and bool can cross to a worker.")


def plain_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with ``str`` keys and plain ``str``/``int``/``float``/``bool`` values (numpy converted).

    Raises ``TypeError`` for anything else (lists, arrays, objects), which Pyro could not send safely.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"A configuration must be a mapping. Got {type(config).__name__}.")
    return {str(k): _plain_scalar(v, f"Configuration value {k!r}") for k, v in config.items()}


def plain_budget(budget: Any) -> float:
    """A budget as a plain, finite Python ``float`` (hpbandster's are ``numpy.float64``).

    Representation noise of ``max_budget * eta**-k`` is rounded away (``0.9999999999999999 -> 1.0``).
    """
    value = float(budget)
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"A budget must be a positive finite number. Got {budget!r}.")
    return float(round(value, 9))


def plain_info(obj: Any) -> Any:
    """``obj`` made JSON- and serpent-safe: numpy to Python, tuples to lists, NaN/inf to ``None``, paths to
    ``str``, anything else as its ``repr``.

        >>> plain_info({"acc": np.float32(0.5), "ids": (np.int64(1), 2), "loss": float("nan")})
        {'acc': 0.5, 'ids': [1, 2], 'loss': None}
    """
    return json_safe(obj, unknown=repr)


def budget_to_epochs(budget: float, max_budget: int | None = None) -> int:
    """The whole number of epochs a budget stands for (rounded; at least 1, at most ``max_budget``)."""
    epochs = max(1, int(round(float(budget))))
    if max_budget is not None and epochs > max_budget:
        raise InvalidInputError(f"Budget {budget:g} is more than the run's max_budget ({max_budget}) epochs.")
    return epochs


# --------------------------------------------------------------------------- the shared secret

_HOOK_LOCK = threading.Lock()
_HOOKED = False
_LOCAL = threading.local()
_UNSET = object()
#: the attribute under which a thread carries the secret of the thread that created it
_THREAD_ATTR = "_hyperstar_pyro_secret"


def _as_key(secret: str | bytes | None) -> bytes | None:
    if secret is None or secret == "" or secret == b"":
        return None
    if isinstance(secret, bytes):
        return secret
    if isinstance(secret, str):
        return secret.encode("utf-8")
    raise InvalidInputError(f"A secret must be a str or bytes. Got {type(secret).__name__}.")


def _current() -> bytes | None:
    """The secret of this thread's run: set by :func:`pyro_secret` in this thread, else inherited from the
    thread that created this one (hpbandster's and Pyro's threads), else none."""
    key = getattr(_LOCAL, "key", _UNSET)
    if key is _UNSET:
        key = getattr(threading.current_thread(), _THREAD_ATTR, None)
    return key


def _install_hooks() -> None:
    """Wrap Pyro4's Proxy/Daemon/locateNS so that the secret of the current thread's run applies to the
    objects hpbandster creates, and let every new thread inherit the secret of the thread that starts it."""
    global _HOOKED
    with _HOOK_LOCK:
        if _HOOKED:
            return
        core = Pyro4.core
        proxy_init = core.Proxy.__init__
        daemon_init = core.Daemon.__init__
        getstate = core.Proxy.__getstate_for_dict__
        setstate = core.Proxy.__setstate_from_dict__
        locate = Pyro4.locateNS
        thread_init = threading.Thread.__init__

        def _thread_init(self, *args, **kwargs):
            thread_init(self, *args, **kwargs)
            key = _current()
            if key is not None:
                setattr(self, _THREAD_ATTR, key)

        def _proxy_init(self, *args, **kwargs):
            proxy_init(self, *args, **kwargs)
            key = _current()
            if key is not None:
                self._pyroHmacKey = key

        def _daemon_init(self, *args, **kwargs):
            daemon_init(self, *args, **kwargs)
            key = _current()
            if key is not None:
                self._pyroHmacKey = key

        def _getstate_for_dict(self):
            state = list(getstate(self))
            key = _current()
            if key is not None and state[5] == "b64:" + base64.b64encode(key).decode("ascii"):
                state[5] = None  # never put the shared secret on the wire; the receiver has it
            return tuple(state)

        def _setstate_from_dict(self, state):
            setstate(self, state)
            key = _current()
            if key is not None and self._pyroHmacKey is None:
                self._pyroHmacKey = key

        def _locate_ns(host=None, port=None, broadcast=True, hmac_key=None):
            return locate(host, port, broadcast, hmac_key if hmac_key is not None else _current())

        threading.Thread.__init__ = _thread_init
        core.Proxy.__init__ = _proxy_init
        core.Daemon.__init__ = _daemon_init
        core.Proxy.__getstate_for_dict__ = _getstate_for_dict
        core.Proxy.__setstate_from_dict__ = _setstate_from_dict
        Pyro4.locateNS = _locate_ns
        if hasattr(Pyro4.naming, "locateNS"):
            Pyro4.naming.locateNS = _locate_ns
        _HOOKED = True


def current_secret() -> bytes | None:
    """The secret in force for this thread's Pyro traffic (``None``: unauthenticated)."""
    return _current()


def new_secret() -> str:
    """A fresh random secret (32 hex characters)."""
    return _secrets.token_hex(16)


@contextlib.contextmanager
def pyro_secret(secret: str | bytes | None) -> Iterator[bytes | None]:
    """Authenticate the Pyro4 traffic of this run with ``secret`` while the block runs.

    Applies to every proxy, daemon and nameserver lookup created inside the block by this thread or
    by the threads it starts (hpbandster's and Pyro's included). ``None`` leaves Pyro
    unauthenticated. The secret belongs to the thread, not the process: two runs in two threads of
    one process each keep their own. Restores the thread's previous secret afterwards.
    """
    key = _as_key(secret)
    _install_hooks()
    secure_pyro_config()
    previous = getattr(_LOCAL, "key", _UNSET)
    _LOCAL.key = key
    try:
        yield key
    finally:
        if previous is _UNSET:
            del _LOCAL.key
        else:
            _LOCAL.key = previous


def secure_pyro_config() -> None:
    """Keep Pyro4 on its safe serializer (serpent) and refuse pickle-like serializers."""
    cfg = Pyro4.config
    if cfg.SERIALIZER != "serpent":
        logger.warning("Pyro4 was set to the %r serializer; hyperstar uses 'serpent' (pickle lets peers run code).",
                       cfg.SERIALIZER)
        cfg.SERIALIZER = "serpent"
    accepted = cfg.SERIALIZERS_ACCEPTED
    if isinstance(accepted, str):
        accepted = set(accepted.split(","))
    unsafe = set(accepted) & set(_UNSAFE_SERIALIZERS)
    if unsafe:
        logger.warning("Pyro4 accepted the %s serializer(s); hyperstar turns them off.", ", ".join(sorted(unsafe)))
    cfg.SERIALIZERS_ACCEPTED = {s for s in accepted if s not in _UNSAFE_SERIALIZERS} | {"serpent"}
    cfg.THREADPOOL_SIZE = max(int(cfg.THREADPOOL_SIZE), MIN_THREADPOOL)


# --------------------------------------------------------------------------- nameserver


class NameServer:
    """A Pyro4 nameserver in a background thread, bound to ``host`` on ``port`` (0: a free port).

    Uses the secret in force (see :func:`pyro_secret`) and never starts Pyro's UDP broadcast
    responder. Use as a context manager, or call :meth:`start` / :meth:`shutdown`.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.host = host
        self.port = int(port)
        self._daemon = None
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        secure_pyro_config()
        try:
            _, daemon, _ = Pyro4.naming.startNS(host=self.host, port=self.port, enableBroadcast=False, hmac=_current())
        except OSError as exc:
            raise HyperstarError(
                f"Could not start the nameserver on {self.host}:{self.port} ({exc.strerror or exc}). "
                "Choose another host/port, or port 0 for a free one."
            ) from None
        self._daemon = daemon
        host, port = daemon.locationStr.rsplit(":", 1)
        self.host, self.port = host.strip("[]"), int(port)
        self._thread = threading.Thread(target=daemon.requestLoop, name="hyperstar-nameserver", daemon=True)
        self._thread.start()
        logger.debug("Nameserver running on %s:%d", self.host, self.port)
        return self.host, self.port

    def shutdown(self) -> None:
        daemon, self._daemon = self._daemon, None
        if daemon is None:
            return
        try:
            daemon.shutdown()
        except Exception as exc:  # shutting down must never raise over the real error
            logger.debug("Nameserver shutdown: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> NameServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def locate_nameserver(host: str, port: int):
    """A proxy to the nameserver at ``host:port``, with a one-line error when it cannot be reached."""
    proxy = Pyro4.core.Proxy(f"PYRO:{Pyro4.constants.NAMESERVER_NAME}@{_uri_host(host)}:{int(port)}")
    try:
        proxy._pyroBind()
    except Pyro4.errors.PyroError as exc:
        text = str(exc)
        if "hmac" in text.lower():
            raise SecretMismatchError(_secret_hint(host, port)) from None
        raise HyperstarError(
            f"No nameserver at {host}:{port} ({text}). Is the `hyperstar tune` run still going, and are host and port right?"
        ) from None
    return proxy


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _secret_hint(host: str, port: int) -> str:
    return (
        f"The nameserver at {host}:{port} refused the connection: the secret does not match. "
        f"Pass the run's secret with --secret or the {SECRET_ENV} environment variable."
    )


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def can_connect(host: str, port: int, timeout: float = 5.0) -> bool:
    """Whether a TCP connection to ``host:port`` succeeds (cheap liveness check)."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- connection file


class ConnectionInfo(dict):
    """What a worker needs to join a run: ``run_id``, ``host``, ``port`` and (optionally) ``secret``."""


def write_connection_file(run_dir: str | Path, info: Mapping[str, Any]) -> Path:
    """Write ``run_dir/nameserver.json`` readable by the owner only (it may hold the secret)."""
    return atomic_write_json(Path(run_dir) / CONNECTION_FILE, dict(info), mode=0o600)


def read_connection_file(run_dir: str | Path) -> ConnectionInfo:
    """Read ``run_dir/nameserver.json`` written by a running ``tune``."""
    path = Path(run_dir) / CONNECTION_FILE
    if not path.is_file():
        raise InvalidInputError(
            f"No {CONNECTION_FILE} in '{run_dir}': is a `hyperstar tune` running with --run-dir {run_dir}?"
        )
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"'{path}' could not be read ({exc}).") from None
    missing = [k for k in ("run_id", "host", "port") if k not in info]
    if missing:
        raise InvalidInputError(f"'{path}' lacks {', '.join(missing)}; it was not written by hyperstar tune.")
    return ConnectionInfo(info)
