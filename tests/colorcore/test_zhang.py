"""Zhang et al.'s release, checked without the real file: random tensors with the official keys and shapes."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorcore.color import rgb_to_lab
from colorcore.errors import ColorcoreError
from colorcore.factory import make_colorizer
from colorcore.model import ColorizationNet, ModelConfig
from colorcore.zhang import fetch_weights

# (block, conv layer indices, BatchNorm index, strides, dilation) of the official eccv16 generator
BLOCKS = [
    (1, [0, 2], 4, [1, 2], 1),
    (2, [0, 2], 4, [1, 2], 1),
    (3, [0, 2, 4], 6, [1, 1, 2], 1),
    (4, [0, 2, 4], 6, [1, 1, 1], 1),
    (5, [0, 2, 4], 6, [1, 1, 1], 2),
    (6, [0, 2, 4], 6, [1, 1, 1], 2),
    (7, [0, 2, 4], 6, [1, 1, 1], 1),
]


def official_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = {k: v.shape for k, v in ColorizationNet(ModelConfig(q=313)).state_dict().items() if "num_batches" not in k}
    state = {}
    for key, shape in shapes.items():
        if key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith("running_mean") or key.endswith("bias"):
            state[key] = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # BatchNorm gamma
            state[key] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = shape[1] * shape[2] * shape[3] if len(shape) == 4 else shape[1]
            state[key] = torch.randn(shape, generator=g) * (2 / fan_in) ** 0.5
    state["model_out.weight"] = (torch.rand(2, 313, 1, 1, generator=g) * 2 - 1)
    return state


def reference_forward(sd: dict[str, torch.Tensor], lightness: torch.Tensor) -> torch.Tensor:
    """The release's forward pass, written with plain functional calls from the same tensors."""
    x = (lightness - 50) / 100
    for block, convs, bn, strides, dil in BLOCKS:
        for idx, stride in zip(convs, strides, strict=True):
            x = F.relu(F.conv2d(x, sd[f"model{block}.{idx}.weight"], sd[f"model{block}.{idx}.bias"], stride=stride,
                                padding=dil, dilation=dil))
        p = f"model{block}.{bn}"
        x = F.batch_norm(x, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"],
                         training=False, eps=1e-5)
    x = F.relu(F.conv_transpose2d(x, sd["model8.0.weight"], sd["model8.0.bias"], stride=2, padding=1))
    x = F.relu(F.conv2d(x, sd["model8.2.weight"], sd["model8.2.bias"], padding=1))
    x = F.relu(F.conv2d(x, sd["model8.4.weight"], sd["model8.4.bias"], padding=1))
    x = F.conv2d(x, sd["model8.6.weight"], sd["model8.6.bias"])
    ab = F.conv2d(F.softmax(x, dim=1), sd["model_out.weight"])
    return F.interpolate(ab, scale_factor=4, mode="bilinear") * 110


def test_colorcore_gives_the_releases_ab_from_the_same_tensors(tmp_path):
    state = official_state_dict()
    path = tmp_path / "colorization_release_v2-9b330a0b.pth"
    torch.save(state, path)
    colorizer = make_colorizer(f"zhang2016:{path}", device="cpu", precision="fp32")
    rgb = torch.rand(2, 3, 256, 256)
    ours = colorizer.ab(rgb)
    expected = reference_forward(state, rgb_to_lab(rgb)[:, :1])
    assert ours.shape == expected.shape == (2, 2, 256, 256)
    assert (ours - expected).abs().max().item() < 1e-4
    assert colorizer.temperature == 1.0 and colorizer.network.bins.q == 313


def test_bfloat16_inference_stays_close_to_fp32(tmp_path):
    state = official_state_dict(1)
    path = tmp_path / "w.pth"
    torch.save(state, path)
    rgb = torch.rand(1, 3, 256, 256)
    fp32 = make_colorizer(f"zhang2016:{path}", device="cpu", precision="fp32").ab(rgb)
    bf16 = make_colorizer(f"zhang2016:{path}", device="cpu", precision="bf16").ab(rgb)
    assert torch.quantile((fp32 - bf16).abs().flatten(), 0.5).item() < 2.0


def test_missing_weights_say_where_to_put_them(tmp_path):
    with pytest.raises(ColorcoreError, match="fetch-weights zhang2016"):
        make_colorizer(f"zhang2016:{tmp_path / 'absent.pth'}")


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ColorcoreError, match="not a PyTorch state_dict"):
        make_colorizer(f"zhang2016:{bad}")


def test_fetch_without_network_fails_with_a_clear_message(tmp_path):
    # An address on this machine where nothing listens: the download cannot happen.
    with pytest.raises(ColorcoreError, match="could not download .* copy it to"):
        fetch_weights(tmp_path, url="http://127.0.0.1:9/none.pth", timeout=2)
    assert not list(tmp_path.iterdir())
