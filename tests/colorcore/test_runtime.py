"""The device and precision decision. The CPU's bfloat16 units are simulated: this is the one thing a
test cannot change on the machine it runs on, and this project's machines have had both kinds."""
from __future__ import annotations

import pytest
import torch

from colorcore import runtime
from colorcore.runtime import pick_runtime


@pytest.fixture(params=[True, False], ids=["bf16-units", "no-bf16-units"])
def cpu_bf16_units(request, monkeypatch):
    for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        monkeypatch.setattr(torch.cpu, name, lambda value=request.param: value, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return request.param


def test_auto_uses_bfloat16_and_channels_last_only_on_a_cpu_with_bfloat16_units(cpu_bf16_units):
    # Without the units bfloat16 is emulated: a whole training step measured 2.6x to 3.6x slower than fp32
    # on such a CPU (machine C in README.md), so auto must fall back to plain fp32 there.
    rt = pick_runtime("auto", "auto")
    assert rt.device.type == "cpu"
    assert rt.precision == ("bf16" if cpu_bf16_units else "fp32")
    assert rt.channels_last is cpu_bf16_units
    assert runtime.cpu_has_fast_bf16() is cpu_bf16_units


def test_an_explicit_precision_overrides_the_cpu_check(cpu_bf16_units):
    assert pick_runtime("cpu", "bf16").precision == "bf16"
    assert pick_runtime("cpu", "fp32").precision == "fp32"
    assert pick_runtime("cpu", "fp32").channels_last is False


def test_fp32_autocast_is_a_no_op_and_bfloat16_autocast_computes_in_bfloat16():
    x = torch.randn(2, 3)
    with pick_runtime("cpu", "fp32").autocast():
        assert (x @ x.T).dtype == torch.float32
    with pick_runtime("cpu", "bf16").autocast():
        assert (x @ x.T).dtype == torch.bfloat16


@pytest.mark.parametrize(
    "device, precision, message",
    [("tpu", "auto", "device must be one of ('auto', 'cpu', 'cuda'), got 'tpu'"),
     ("cpu", "int4", "precision must be one of ('auto', 'fp32', 'bf16', 'fp16'), got 'int4'")],
)
def test_unknown_values_are_refused_with_the_allowed_ones(device, precision, message):
    with pytest.raises(ValueError) as error:
        pick_runtime(device, precision)
    assert str(error.value) == message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_a_cuda_device_says_so():
    with pytest.raises(ValueError, match="no CUDA device is available"):
        pick_runtime("cuda")
