"""NanoDet-style tiny detector: MobileNet backbone + one anchor-free (FCOS/YOLOX-like) grid head.

Backbone: MobileNet-v1 style depthwise-separable blocks (3x3 depthwise + BN + ReLU6, 1x1 pointwise
+ BN + ReLU6) scaled by a width multiplier; the stride-16 stage uses dilated depthwise convs to grow
the receptive field (large, close objects) without a stride-32 stage (240 is not divisible by 32).
Neck: the stride-16 features are upsampled x2 and concatenated with the stride-8 features.
Head: one 1x1 conv -> ``[1, 5 + C, H/8, W/8]`` raw maps (objectness logit, l/t/r/b log-distances in
strides from the cell centre, C class logits). There is no decode in the graph: the runtime decodes
in numpy (nanorover_perception.detection.decode_nanorover), so INT8 quantization never mixes pixel
coordinates and probabilities in one tensor.
"""
import torch
from torch import nn
import torch.nn.functional as F

STRIDE = 8


def _ch(c, width):
    return max(8, int(round(c * width / 8.0)) * 8)


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k=3, s=1, groups=1, dilation=1, act=True):
        pad = dilation * (k - 1) // 2
        layers = [nn.Conv2d(cin, cout, k, s, pad, dilation=dilation, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class DWSeparable(nn.Sequential):
    """Depthwise 3x3 (stride, dilation) + pointwise 1x1, each with BN + ReLU6."""

    def __init__(self, cin, cout, s=1, dilation=1):
        super().__init__(ConvBN(cin, cin, 3, s, groups=cin, dilation=dilation),
                         ConvBN(cin, cout, 1))


class NanoDetector(nn.Module):
    def __init__(self, num_classes=4, width=1.0):
        super().__init__()
        c = [_ch(v, width) for v in (16, 32, 64, 128, 96)]
        self.num_classes = num_classes
        self.width = width
        self.stem = ConvBN(3, c[0], 3, 2)                        # /2
        self.stage1 = nn.Sequential(DWSeparable(c[0], c[1], 2),  # /4
                                    DWSeparable(c[1], c[1]))
        self.stage2 = nn.Sequential(DWSeparable(c[1], c[2], 2),  # /8
                                    DWSeparable(c[2], c[2]))
        self.stage3 = nn.Sequential(DWSeparable(c[2], c[3], 2),  # /16
                                    DWSeparable(c[3], c[3]),
                                    DWSeparable(c[3], c[3], dilation=2),
                                    DWSeparable(c[3], c[3], dilation=4))
        self.neck = nn.Sequential(DWSeparable(c[2] + c[3], c[4]), DWSeparable(c[4], c[4]))
        self.head = nn.Conv2d(c[4], 5 + num_classes, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        nn.init.normal_(self.head.weight, std=0.01)
        with torch.no_grad():
            self.head.bias.zero_()
            self.head.bias[0] = -4.6      # objectness prior 0.01 (focal-loss style init)
            self.head.bias[5:] = -2.0

    def forward(self, x):
        x = self.stem(x)
        x = self.stage1(x)
        p8 = self.stage2(x)
        p16 = self.stage3(p8)
        up = F.interpolate(p16, scale_factor=2.0, mode='nearest')
        return self.head(self.neck(torch.cat([p8, up], dim=1)))


# ----------------------------------------------------------------------------------------------
# targets and loss
# ----------------------------------------------------------------------------------------------
def build_targets(boxes_list, classes_list, gh, gw, stride=STRIDE, centre_radius=1.5):
    """Assign cells to ground-truth boxes (FCOS centre sampling, smallest box wins).

    A cell is positive for a box when its centre lies inside the box and within
    ``centre_radius`` strides of the box centre (the box's own centre cell always is).
    Returns (pos [B, gh*gw] bool, box targets [B, gh*gw, 4] xyxy px, class ids [B, gh*gw]).
    """
    B = len(boxes_list)
    n = gh * gw
    ys, xs = torch.meshgrid(torch.arange(gh, dtype=torch.float32),
                            torch.arange(gw, dtype=torch.float32), indexing='ij')
    cx = ((xs + 0.5) * stride).reshape(-1)
    cy = ((ys + 0.5) * stride).reshape(-1)
    pos = torch.zeros(B, n, dtype=torch.bool)
    tbox = torch.zeros(B, n, 4)
    tcls = torch.zeros(B, n, dtype=torch.long)
    for b in range(B):
        boxes = boxes_list[b]
        if len(boxes) == 0:
            continue
        boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        cls = torch.as_tensor(classes_list[b], dtype=torch.long).reshape(-1)
        bcx = (boxes[:, 0] + boxes[:, 2]) / 2
        bcy = (boxes[:, 1] + boxes[:, 3]) / 2
        inside = ((cx[:, None] > boxes[None, :, 0]) & (cx[:, None] < boxes[None, :, 2]) &
                  (cy[:, None] > boxes[None, :, 1]) & (cy[:, None] < boxes[None, :, 3]))
        r = centre_radius * stride
        near = ((cx[:, None] - bcx[None]).abs() <= r) & ((cy[:, None] - bcy[None]).abs() <= r)
        cand = inside & near
        # the centre cell of every box is a candidate, even for boxes smaller than a cell
        ci = (bcy / stride).long().clamp(0, gh - 1) * gw + (bcx / stride).long().clamp(0, gw - 1)
        cand[ci, torch.arange(len(boxes))] = True
        area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(n, -1)
        area = torch.where(cand, area, torch.full_like(area, float('inf')))
        best_area, best = area.min(dim=1)
        p = torch.isfinite(best_area)
        pos[b] = p
        tbox[b, p] = boxes[best[p]]
        tcls[b, p] = cls[best[p]]
    return pos, tbox, tcls


def decode_torch(pred_ltrb, gh, gw, stride=STRIDE):
    """[B, n, 4] log-distances -> [B, n, 4] xyxy px (same maths as the numpy runtime decoder)."""
    ys, xs = torch.meshgrid(torch.arange(gh, dtype=torch.float32),
                            torch.arange(gw, dtype=torch.float32), indexing='ij')
    cx = ((xs + 0.5) * stride).reshape(1, -1)
    cy = ((ys + 0.5) * stride).reshape(1, -1)
    d = torch.exp(pred_ltrb.clamp(-10.0, 10.0)) * stride
    return torch.stack([cx - d[..., 0], cy - d[..., 1], cx + d[..., 2], cy + d[..., 3]], dim=-1)


def giou(a, b):
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(1)
    union = area_a + area_b - inter + 1e-7
    iou = inter / union
    elt = torch.min(a[:, :2], b[:, :2])
    erb = torch.max(a[:, 2:], b[:, 2:])
    enc = (erb - elt).clamp(min=0).prod(1) + 1e-7
    return iou - (enc - union) / enc, iou


def detection_loss(out, boxes_list, classes_list, num_classes):
    """Objectness BCE (IoU-aware soft targets on positives) + GIoU box loss + class BCE.

    Returns (total, dict of parts).
    """
    B, ch, gh, gw = out.shape
    flat = out.permute(0, 2, 3, 1).reshape(B, gh * gw, ch)
    pos, tbox, tcls = build_targets(boxes_list, classes_list, gh, gw)
    npos = max(1, int(pos.sum()))
    obj_t = torch.zeros(B, gh * gw)
    if pos.any():
        pbox = decode_torch(flat[..., 1:5], gh, gw)[pos]
        g, iou = giou(pbox, tbox[pos])
        l_box = (1.0 - g).sum() / npos
        obj_t[pos] = iou.detach().clamp(min=0.3)
        onehot = F.one_hot(tcls[pos], num_classes).float()
        l_cls = F.binary_cross_entropy_with_logits(flat[..., 5:][pos], onehot,
                                                   reduction='sum') / npos
    else:
        l_box = l_cls = flat.sum() * 0.0
    l_obj = F.binary_cross_entropy_with_logits(flat[..., 0], obj_t, reduction='sum') / npos
    total = 5.0 * l_box + l_obj + l_cls
    return total, {'box': float(l_box.detach()), 'obj': float(l_obj.detach()),
                   'cls': float(l_cls.detach())}
