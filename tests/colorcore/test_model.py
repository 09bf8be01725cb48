from __future__ import annotations

import pytest
import torch

from colorcore.model import ColorizationNet, ModelConfig, decode, upsample_ab


@pytest.mark.parametrize("head", ["classification", "regression"])
@pytest.mark.parametrize("width", [0.125, 0.25])
def test_every_block_has_the_shapes_of_figure_3(head, width):
    config = ModelConfig(q=247, head=head, width=width)
    net = ColorizationNet(config).eval()
    x = torch.rand(2, 1, 64, 96) * 100  # any aspect ratio divisible by 8
    c = lambda n: max(8, round(n * width))  # noqa: E731
    expected = [(c(64), 32, 48), (c(128), 16, 24), (c(256), 8, 12), (c(512), 8, 12), (c(512), 8, 12), (c(512), 8, 12), (c(512), 8, 12)]
    h = (x - 50) / 100
    for block, shape in zip([net.model1, net.model2, net.model3, net.model4, net.model5, net.model6, net.model7], expected, strict=True):
        h = block(h)
        assert tuple(h.shape[1:]) == shape
    out = net(x)
    assert out.shape == (2, 247 if head == "classification" else 2, 16, 24)
    assert torch.isfinite(out).all()


def test_full_width_network_has_the_papers_32_million_parameters_and_dilations():
    net = ColorizationNet(ModelConfig(q=313))
    assert sum(p.numel() for p in net.parameters()) == 32_235_385
    assert net.model5[0].dilation == (2, 2) and net.model6[4].dilation == (2, 2) and net.model7[0].dilation == (1, 1)
    assert isinstance(net.model1[4], torch.nn.BatchNorm2d) and isinstance(net.model3[6], torch.nn.BatchNorm2d)
    assert net.model8[0].stride == (2, 2) and net.model8[0].kernel_size == (4, 4)


def test_decoders_interpolate_between_mode_and_mean():
    centers = torch.tensor([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    logits = torch.tensor([2.0, 1.0, 0.0]).view(1, 3, 1, 1)
    config = ModelConfig(q=3)
    mode = decode(logits, config, centers, method="mode").flatten()
    mean = decode(logits, config, centers, method="mean").flatten()
    cold = decode(logits, config, centers, temperature=0.01).flatten()
    warm = decode(logits, config, centers, temperature=0.38).flatten()
    assert mode.tolist() == [0.0, 0.0]
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.0]), 0)
    assert mean.tolist() == pytest.approx((p @ centers).tolist())
    assert cold.tolist() == pytest.approx([0.0, 0.0], abs=1e-3)
    assert 0 < warm[0] < mean[0]


def test_ab_is_brought_back_to_any_image_size():
    ab = torch.rand(1, 2, 16, 24)
    assert upsample_ab(ab, (250, 377)).shape == (1, 2, 250, 377)
