"""The counter-based generator: a draw depends on (seed, stream, counter, index) only."""

from __future__ import annotations

import torch

from bench.rng import Stream, _splitmix64, normal, permutations, uniform

MASK = (1 << 64) - 1


def _splitmix64_reference(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def test_splitmix64_matches_the_reference_in_unsigned_arithmetic() -> None:
    inputs = [0, 1, 2**63 - 1, -1, -(2**63), 123456789123456789]
    got = _splitmix64(torch.tensor(inputs, dtype=torch.int64)).tolist()
    assert [g & MASK for g in got] == [_splitmix64_reference(i & MASK) for i in inputs]


def test_a_draw_does_not_depend_on_the_other_seeds() -> None:
    seeds = torch.tensor([7, 3, 11, 7])
    alone = uniform(torch.tensor([11]), Stream.NOISE, 5, 6)
    together = uniform(seeds, Stream.NOISE, 5, 6)
    assert torch.equal(together[2], alone[0])
    assert torch.equal(together[0], together[3])
    assert not torch.equal(together[0], together[1])


def test_streams_and_counters_are_independent() -> None:
    seed = torch.tensor([0])
    assert not torch.equal(uniform(seed, Stream.INIT, 0, 4), uniform(seed, Stream.NOISE, 0, 4))
    assert not torch.equal(uniform(seed, Stream.NOISE, 0, 4), uniform(seed, Stream.NOISE, 1, 4))


def test_uniform_and_normal_have_the_right_moments() -> None:
    u = uniform(torch.arange(200), Stream.DATA, 0, 500)
    z = normal(torch.arange(200), Stream.NOISE, 0, 500)
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean().item() - 0.5) < 0.005
    assert abs(z.mean().item()) < 0.01
    assert abs(z.std().item() - 1.0) < 0.01


def test_permutations_are_permutations() -> None:
    perms = permutations(torch.tensor([0, 1, 0]), Stream.DATA, 3, 50)
    for row in perms:
        assert sorted(row.tolist()) == list(range(50))
    assert torch.equal(perms[0], perms[2])
    assert not torch.equal(perms[0], perms[1])
