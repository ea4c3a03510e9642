"""Hand-written networks of the model-zoo fixtures (scripts/gen_zoo_fixtures.py): a small UNet with a quantized
ConvTranspose, torchvision's FeaturePyramidNetwork on a small backbone, and a YOLOv8-style detector written from
the public architecture description (Conv+BN+SiLU, C2f, SPPF, nearest-upsample PAN neck, DFL box decoding,
sigmoid class scores). Small widths and depths so that every fixture stays small and fast."""
from collections import OrderedDict

import torch
from torch import nn

from gen_fixtures import ConvBNReLU


# ---------------------------------------------------------------------------------------------------------------
# UNet: two down stages, a bottleneck, two up stages (ConvTranspose 2x2 s2, concat with the skip), 1x1 head.

class UNet(nn.Module):
    def __init__(self, conv_transpose, c=8, classes=2):
        super().__init__()
        self.enc1 = nn.Sequential(ConvBNReLU(3, c), ConvBNReLU(c, c))
        self.enc2 = nn.Sequential(ConvBNReLU(c, 2 * c), ConvBNReLU(2 * c, 2 * c))
        self.mid = nn.Sequential(ConvBNReLU(2 * c, 4 * c), ConvBNReLU(4 * c, 4 * c))
        self.pool = nn.MaxPool2d(2)
        self.up2 = conv_transpose(4 * c, 2 * c)
        self.dec2 = nn.Sequential(ConvBNReLU(4 * c, 2 * c), ConvBNReLU(2 * c, 2 * c))
        self.up1 = conv_transpose(2 * c, c)
        self.dec1 = nn.Sequential(ConvBNReLU(2 * c, c), ConvBNReLU(c, c))
        self.head = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


# ---------------------------------------------------------------------------------------------------------------
# torchvision.ops.FeaturePyramidNetwork (with its LastLevelMaxPool) on a 3-stage ConvBNReLU backbone.

class FpnNet(nn.Module):
    def __init__(self, widths=(8, 16, 32), out_channels=16):
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
        super().__init__()
        self.stem = ConvBNReLU(3, widths[0], 3, stride=2)
        self.c3 = ConvBNReLU(widths[0], widths[0], 3, stride=2)
        self.c4 = ConvBNReLU(widths[0], widths[1], 3, stride=2)
        self.c5 = ConvBNReLU(widths[1], widths[2], 3, stride=2)
        self.fpn = FeaturePyramidNetwork(list(widths), out_channels, extra_blocks=LastLevelMaxPool())

    def forward(self, x):
        c3 = self.c3(self.stem(x))
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        out = self.fpn(OrderedDict([("c3", c3), ("c4", c4), ("c5", c5)]))
        return tuple(out.values())  # torchvision returns an OrderedDict; the exporter needs a tuple


# ---------------------------------------------------------------------------------------------------------------
# YOLOv8-style detector.

class Conv(nn.Sequential):
    """Conv2d (no bias) + BatchNorm + SiLU, YOLO's basic block."""

    def __init__(self, cin, cout, k=1, s=1):
        super().__init__(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1, self.cv2, self.add = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """1x1 conv to 2c, split in two halves, n bottlenecks on the second half, concat of every stage, 1x1 conv."""

    def __init__(self, cin, cout, n=1, shortcut=False):
        super().__init__()
        self.c = cout // 2
        self.cv1 = Conv(cin, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, cout)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        halves = self.cv1(x).split((self.c, self.c), 1)
        y = [halves[0], halves[1]]  # indexed, not list(): torch.fx cannot iterate a Proxy
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): three chained 5x5 max pools, concat with the input, 1x1 conv."""

    def __init__(self, cin, cout):
        super().__init__()
        c = cin // 2
        self.cv1, self.cv2 = Conv(cin, c), Conv(4 * c, cout)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], 1))


class Decode(nn.Module):
    """DFL box decoding and class sigmoid, float (qconfig None): per anchor a softmax over reg_max bins of each of
    the four distances, their expectation (DFL's fixed arange conv), distances -> xyxy boxes in pixels."""

    def __init__(self, size, strides, reg_max, classes):
        super().__init__()
        self.reg_max, self.classes = reg_max, classes
        anchors, scale = [], []
        for s in strides:
            n = size // s
            ys, xs = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing="ij")
            anchors.append(torch.stack([xs.flatten(), ys.flatten()]))
            scale.append(torch.full((n * n,), float(s)))
        self.register_buffer("anchors", torch.cat(anchors, 1).unsqueeze(0))  # [1, 2, A]
        self.register_buffer("stride", torch.cat(scale).reshape(1, 1, -1))  # [1, 1, A]
        self.dfl = nn.Conv2d(reg_max, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(reg_max, dtype=torch.float).view(1, reg_max, 1, 1)

    def forward(self, feats):
        x = torch.cat([f.flatten(2) for f in feats], 2)  # [B, 4*reg_max + classes, A]
        box, cls = x.split((4 * self.reg_max, self.classes), 1)
        b, a = box.shape[0], box.shape[2]
        box = box.reshape(b, 4, self.reg_max, a).transpose(2, 1).softmax(1)
        dist = self.dfl(box).reshape(b, 4, a)
        lt, rb = dist.split((2, 2), 1)
        xyxy = torch.cat([self.anchors - lt, self.anchors + rb], 1) * self.stride
        return torch.cat([xyxy, cls.sigmoid()], 1)


class NearestUp(nn.Module):
    """Nearest x2 upsampling traced as F.interpolate, which torch 1.13 FX quantizes (nn.Upsample it leaves float)."""

    def forward(self, x):
        return nn.functional.interpolate(x, scale_factor=2, mode="nearest")


class YoloDetector(nn.Module):
    """YOLOv8-style: backbone (strided Conv + C2f stages, SPPF), PAN neck with nearest upsampling, decoupled
    box/class heads at strides 8, 16, 32, DFL decoding. quantized_upsample=False uses nn.Upsample as the reference
    implementation does (torch leaves it float, so a SiLU output is read both float and fake-quantized)."""

    def __init__(self, size, w=(8, 12, 16, 24), n=1, reg_max=8, classes=4, quantized_upsample=False):
        super().__init__()
        self.stem, self.down1 = Conv(3, w[0], 3, 2), Conv(w[0], w[1], 3, 2)
        self.c2_1 = C2f(w[1], w[1], n, True)
        self.down2, self.c2_2 = Conv(w[1], w[2], 3, 2), C2f(w[2], w[2], n, True)  # P3, stride 8
        self.down3, self.c2_3 = Conv(w[2], w[3], 3, 2), C2f(w[3], w[3], n, True)  # P4, stride 16
        self.down4, self.c2_4 = Conv(w[3], w[3], 3, 2), C2f(w[3], w[3], n, True)
        self.sppf = SPPF(w[3], w[3])  # P5, stride 32
        self.up = NearestUp() if quantized_upsample else nn.Upsample(scale_factor=2, mode="nearest")
        self.td4, self.td3 = C2f(2 * w[3], w[3], n), C2f(w[3] + w[2], w[2], n)
        self.bu3, self.pan4 = Conv(w[2], w[2], 3, 2), C2f(w[2] + w[3], w[3], n)
        self.bu4, self.pan5 = Conv(w[3], w[3], 3, 2), C2f(2 * w[3], w[3], n)
        self.box = nn.ModuleList(self.branch(c, 4 * reg_max, 16) for c in (w[2], w[3], w[3]))
        self.cls = nn.ModuleList(self.branch(c, classes, 16) for c in (w[2], w[3], w[3]))
        self.decode = Decode(size, (8, 16, 32), reg_max, classes)

    @staticmethod
    def branch(cin, cout, c):
        return nn.Sequential(Conv(cin, c, 3), Conv(c, c, 3), nn.Conv2d(c, cout, 1))

    def forward(self, x):
        p3 = self.c2_2(self.down2(self.c2_1(self.down1(self.stem(x)))))
        p4 = self.c2_3(self.down3(p3))
        p5 = self.sppf(self.c2_4(self.down4(p4)))
        n4 = self.td4(torch.cat([self.up(p5), p4], 1))
        o3 = self.td3(torch.cat([self.up(n4), p3], 1))
        o4 = self.pan4(torch.cat([self.bu3(o3), n4], 1))
        o5 = self.pan5(torch.cat([self.bu4(o4), p5], 1))
        feats = [torch.cat([self.box[i](f), self.cls[i](f)], 1) for i, f in enumerate((o3, o4, o5))]
        return self.decode(feats)
