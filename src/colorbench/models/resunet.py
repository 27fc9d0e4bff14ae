"""Res-UNet: a U-Net whose encoder is ResNet-18 (ParaColorizer V2; V3 adds self-attention).

L (B×1×H×W) -> ab (B×2×H×W, tanh); H and W must be multiples of 32.

Encoder: torchvision's resnet18 layout (conv1 7x7/2, maxpool, layer1..layer4 of BasicBlocks;
same module names, so torchvision's state_dict loads key for key) with a 1-channel conv1.
ImageNet weights, when asked for, come from `colorbench.weights.require('resnet18')`, with
conv1's RGB filters summed into one gray filter (gray = R = G = B, so the summed filter
gives the same response to a gray image).

Decoder (ours; the paper does not specify it): from H/32 up to full size, each step a
bilinear x2 upsample, concatenation with the encoder map at that resolution (conv1's output
at H/2, the input L itself at full size), and two conv3x3-BN-ReLU; channels 8w, 4w, 2w, w,
w/2 at H/16 ... H/1 (w = `width`, 64 in the paper profile), then a 1x1 conv to ab and
tanh. V3 puts a SAGAN self-attention block after the H/8 step (32x32 at 256 px), the mid
resolution where fastai's DynamicUnet (which the paper's Res-UNet resembles) puts it.

`encoder_width` scales the encoder channels (64, 128, 256, 512) so the synthetic profile
is small without changing the layout; by default it is width/64 (at most 1), and exactly 1
when `pretrained` (ImageNet weights only fit the full encoder).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

from colorbench.errors import ColorbenchError

RESNET18_CHANNELS = (64, 128, 256, 512)
PAPER_WIDTH = 64
SIZE_MULTIPLE = 32


# SAGAN self-attention (Zhang et al. 2019): V3's decoder carries colour consistency across
# long distances. It lives here, with its only user, so one file is the Res-UNet's code.
class SelfAttention(nn.Module):
    """y = gamma * softmax(q^T k) v + x, with 1x1 convs for q, k (C/8) and v (C).

    gamma starts at 0, so the block is the identity at initialisation and the network
    learns how much non-local evidence to mix in (as SAGAN does).
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        inner = max(1, channels // reduction)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # B x N x C'
        k = self.key(x).flatten(2)  # B x C' x N
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # B x N x N, rows sum to 1
        v = self.value(x).flatten(2)  # B x C x N
        out = torch.bmm(v, attn.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + x


def _scaled(channels: int, mult: float) -> int:
    return max(1, int(round(channels * mult)))


class ResNet18Encoder(nn.Module):
    """torchvision's resnet18 up to layer4 (no avgpool/fc), channels scaled by `width_mult`.

    Returns the feature maps at H/2 (after conv1-bn-relu), H/4, H/8, H/16 and H/32.
    """

    def __init__(self, in_channels: int = 1, width_mult: float = 1.0) -> None:
        super().__init__()
        chans = [_scaled(c, width_mult) for c in RESNET18_CHANNELS]
        self.channels = (chans[0], *chans)
        self.conv1 = nn.Conv2d(in_channels, chans[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self._inplanes = chans[0]
        self.layer1 = self._make_layer(chans[0], stride=1)
        self.layer2 = self._make_layer(chans[1], stride=2)
        self.layer3 = self._make_layer(chans[2], stride=2)
        self.layer4 = self._make_layer(chans[3], stride=2)
        # torchvision's initialisation, so a random encoder matches resnet18(weights=None).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._inplanes != planes:
            downsample = nn.Sequential(
                conv1x1(self._inplanes, planes, stride), nn.BatchNorm2d(planes)
            )
        blocks = [
            BasicBlock(self._inplanes, planes, stride, downsample),
            BasicBlock(planes, planes),
        ]
        self._inplanes = planes
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x0 = self.relu(self.bn1(self.conv1(x)))
        x1 = self.layer1(self.maxpool(x0))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return [x0, x1, x2, x3, x4]

    def load_imagenet(self) -> None:
        """Load torchvision's ImageNet resnet18 weights, conv1 summed over RGB (strict)."""
        path = _require_weights("resnet18")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt or not a state dict
            raise ColorbenchError(
                f"cannot read ResNet-18 weights {path}: {exc}; re-run `colorbench weights fetch`"
            ) from exc
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        w = state.get("conv1.weight")
        if w is not None and w.shape[1] != self.conv1.in_channels:
            if self.conv1.in_channels != 1:
                raise ColorbenchError(
                    f"cannot adapt 3-channel conv1 to {self.conv1.in_channels} input channels"
                )
            state["conv1.weight"] = w.sum(dim=1, keepdim=True)
        try:
            self.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ColorbenchError(
                f"{path} is not a torchvision resnet18 state dict ({str(exc).splitlines()[0]}); "
                "re-run `colorbench weights fetch`"
            ) from exc


def _require_weights(name: str):
    try:
        from colorbench.weights import require
    except ImportError as exc:  # the weights registry is optional for random-init models
        from colorbench.errors import MissingWeightsError

        raise MissingWeightsError(
            f"pretrained {name} requested but colorbench.weights is unavailable ({exc}); "
            "set pretrained: false or install the weights registry"
        ) from exc
    return require(name)


class _ConvBlock(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class ResUNet(nn.Module):
    size_multiple = SIZE_MULTIPLE

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        width: int = PAPER_WIDTH,
        encoder_width: float | None = None,
        attention: bool = False,
        pretrained: bool = False,
        load_pretrained: bool = True,
    ) -> None:
        """`load_pretrained=False` builds the pretrained layout without reading the weights
        (used when a checkpoint's state dict is about to overwrite them)."""
        super().__init__()
        if encoder_width is None:
            encoder_width = 1.0 if pretrained else min(1.0, width / PAPER_WIDTH)
        if pretrained and encoder_width != 1.0:
            raise ColorbenchError(
                f"pretrained: true needs the full ResNet-18 encoder (encoder_width 1), "
                f"got encoder_width {encoder_width}"
            )
        self.encoder = ResNet18Encoder(in_channels, encoder_width)
        if pretrained and load_pretrained:
            self.encoder.load_imagenet()
        e0, e1, e2, e3, e4 = self.encoder.channels
        d = [_scaled(width, m) for m in (8, 4, 2, 1, 0.5)]
        self.center = _ConvBlock(e4, d[0])
        self.up = nn.ModuleList(
            [
                _ConvBlock(d[0] + e3, d[0]),  # H/16
                _ConvBlock(d[0] + e2, d[1]),  # H/8
                _ConvBlock(d[1] + e1, d[2]),  # H/4
                _ConvBlock(d[2] + e0, d[3]),  # H/2
                _ConvBlock(d[3] + in_channels, d[4]),  # H/1, the input itself as the skip
            ]
        )
        self.attention = SelfAttention(d[1]) if attention else None
        self.head = nn.Conv2d(d[4], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(x)
        skips = [x, *feats[:-1]]  # full, H/2, H/4, H/8, H/16
        y = self.center(feats[-1])
        for i, block in enumerate(self.up):
            skip = skips[-1 - i]
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
            if i == 1 and self.attention is not None:
                y = self.attention(y)
        return torch.tanh(self.head(y))
