"""Loaded by every Python process of the offline test (PYTHONPATH=tests/offline): with
RWKU_NETWORK_LOG set, any attempt to resolve a host name or open a connection to anything but this
machine is written to that file and fails. Loopback stays open (Jupyter kernels talk over it)."""
import os
import socket

_LOG = os.environ.get("RWKU_NETWORK_LOG")
_LOCAL = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}

if _LOG:
    _connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def _blocked(what):
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {what}\n")
        return OSError(f"network access attempted in the offline test: {what}")

    def _remote(sock, address):
        return sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL

    def connect(self, address):
        if _remote(self, address):
            raise _blocked(f"connect {address}")
        return _connect(self, address)

    def connect_ex(self, address):
        if _remote(self, address):
            raise _blocked(f"connect {address}")
        return _connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if (host.decode() if isinstance(host, bytes) else host) not in _LOCAL:
            raise _blocked(f"resolve {host}")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
