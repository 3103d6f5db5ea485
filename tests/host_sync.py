"""A dispatch mode that fails on host synchronisation (imported by the tests)."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

aten = torch.ops.aten


class NoHostSync(TorchDispatchMode):
    """Fails on any op that makes the host wait for the device or moves data between devices.

    Reading a value on the host (``.item()``, ``bool(t)``, data-dependent shapes) blocks a CUDA
    stream until the device catches up; a tensor made from host data (``torch.tensor(3)``) or a
    copy between devices is a host-device transfer. On the CPU neither costs anything, which is
    why they have to be caught by op, not by time.
    """

    HOST_READS = {
        aten._local_scalar_dense,
        aten.item,
        aten.is_nonzero,
        aten.nonzero,
        aten.masked_select,
        aten._unique2,
        aten.unique_dim,
        aten.unique_consecutive,
        aten.equal,
        aten.repeat_interleave,
    }
    FROM_HOST = {aten.lift_fresh, aten.lift_fresh_copy, aten._to_copy, aten.scalar_tensor}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        packet = func.overloadpacket
        if packet in self.HOST_READS:
            raise AssertionError(f"host synchronisation in the step loop: {func}")
        leaves = tree_leaves((args, kwargs))
        devices = {t.device for t in leaves if isinstance(t, torch.Tensor)}
        if "device" in kwargs and kwargs["device"] is not None:
            devices.add(torch.device(kwargs["device"]))
        if packet is aten.lift_fresh or len(devices) > 1:
            raise AssertionError(f"host-device copy in the step loop: {func} over {devices}")
        return func(*args, **kwargs)
