"""Files an attacker or a broken disk could hand to hyperstar, for the damaged-file tests."""

from __future__ import annotations

import io
import os

import torch


class Evil:
    """An object whose unpickling runs a command: what a malicious .pt file carries."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def torch_bytes(obj) -> bytes:
    """``torch.save(obj)`` as bytes."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()
