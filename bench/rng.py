"""Counter-based random numbers: a value depends only on (seed, stream, counter, index).

Every random draw in a run (initial point, gradient noise, minibatch order) comes from here, so
a member's draws never depend on which population it runs in, on its position there, or on the
chunk size: the common-random-numbers invariant.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["Stream", "normal", "permutations", "uniform"]


class Stream:
    """Independent streams drawn from one seed."""

    INIT = 1
    NOISE = 2
    DATA = 3


def _signed(value: int) -> int:
    """The int64 with the same 64 bits as the unsigned ``value``."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_MIX1 = _signed(0xBF58476D1CE4E5B9)
_MIX2 = _signed(0x94D049BB133111EB)
_STREAM = _signed(0xD1B54A32D192ED03)
_COUNTER = _signed(0xABC98388FB8FAC03)


def _shr(x: Tensor, bits: int) -> Tensor:
    """Logical right shift of int64 bit patterns (torch's ``>>`` is arithmetic)."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _splitmix64(x: Tensor) -> Tensor:
    """The splitmix64 finaliser on int64 bit patterns (multiplication wraps modulo 2**64)."""
    x = x + _GOLDEN
    x = (x ^ _shr(x, 30)) * _MIX1
    x = (x ^ _shr(x, 27)) * _MIX2
    return x ^ _shr(x, 31)


def _bits(seeds: Tensor, stream: int, counter: int | Tensor, n: int) -> Tensor:
    """Hashed 64-bit words ``[len(seeds), n]`` for (seed, stream, counter, index)."""
    seeds = seeds.to(torch.int64)
    # An int counter enters as a kernel argument and a tensor one stays where it is: neither
    # makes a host-to-device copy, which would block a CUDA stream at every step.
    if isinstance(counter, Tensor):
        offset = counter.to(torch.int64) * _COUNTER
    else:
        offset = _signed(counter * _COUNTER)
    key = _splitmix64(seeds * _STREAM + stream)
    key = _splitmix64(key + offset)
    index = torch.arange(n, dtype=torch.int64, device=seeds.device)
    return _splitmix64(key.unsqueeze(-1) * _GOLDEN + index)


def uniform(seeds: Tensor, stream: int, counter: int | Tensor, n: int) -> Tensor:
    """Float64 draws in [0, 1), shape ``[len(seeds), n]``."""
    return _shr(_bits(seeds, stream, counter, n), 11).to(torch.float64) * 2.0**-53


def normal(seeds: Tensor, stream: int, counter: int | Tensor, n: int) -> Tensor:
    """Float64 standard normal draws (Box–Muller), shape ``[len(seeds), n]``."""
    u = uniform(seeds, stream, counter, 2 * n)
    radius = torch.sqrt(-2.0 * torch.log1p(-u[:, :n]))  # 1 - u lies in (0, 1]: log never sees 0
    return radius * torch.cos((2.0 * math.pi) * u[:, n:])


def permutations(seeds: Tensor, stream: int, counter: int | Tensor, n: int) -> Tensor:
    """One random permutation of ``range(n)`` per seed, shape ``[len(seeds), n]``."""
    return torch.argsort(_bits(seeds, stream, counter, n), dim=1, stable=True)
