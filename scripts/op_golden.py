"""NumPy reference implementations of ONNX operators as the ONNX spec defines them per opset, for the golden
outputs of scripts/gen_op_fixtures.py. Written from the operator pages of https://onnx.ai/onnx/operators/
(no onnxruntime, no bpu-mapper code), computed in float64 on fake-quantized float32 inputs.

fake_quant() is torch's fake_quantize_per_tensor_affine (../shared/reference/numerics.md section 4):
q = clamp(rint(x * float32(1/s)), -128, 127) in float32, then q * s in float32.
"""
import math

import numpy as np


def fake_quant(x, scale):
    """Torch's per-tensor symmetric int8 fake quantization, float32 throughout."""
    s = np.float32(scale)
    inv = np.float32(1.0) / s
    q = np.clip(np.rint(np.asarray(x, dtype=np.float32) * inv), -128, 127).astype(np.float32)
    return (q * s).astype(np.float32)


# --- elementwise --------------------------------------------------------------------------------------------

def clip(x, lo=None, hi=None):
    y = x
    if lo is not None:
        y = np.maximum(y, lo)
    if hi is not None:
        y = np.minimum(y, hi)
    return y


def leaky_relu(x, alpha=0.01):
    return np.where(x >= 0, x, alpha * x)


def hard_sigmoid(x, alpha=0.2, beta=0.5):
    return np.maximum(0.0, np.minimum(1.0, alpha * x + beta))


def hard_swish(x):
    return x * np.maximum(0.0, np.minimum(1.0, x / 6.0 + 0.5))


def elu(x, alpha=1.0):
    return np.where(x >= 0, x, alpha * (np.exp(x) - 1.0))


def selu(x, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    return gamma * np.where(x > 0, x, alpha * (np.exp(x) - 1.0))


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


# --- softmax ------------------------------------------------------------------------------------------------

def _softmax_last(x2):
    e = np.exp(x2 - x2.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _hardmax_last(x2):
    y = np.zeros_like(x2)
    idx = np.argmax(x2, axis=-1)  # the first of equal maxima, as the spec says
    np.put_along_axis(y, idx[..., None], 1.0, axis=-1)
    return y


def _log_softmax_last(x2):
    return np.log(_softmax_last(x2))


_ROWS = {"Softmax": _softmax_last, "LogSoftmax": _log_softmax_last, "Hardmax": _hardmax_last}


def softmax(x, axis, opset, op="Softmax"):
    """Softmax, LogSoftmax, Hardmax. Opset < 13: coerce to 2-D [prod(dims[:axis]), prod(dims[axis:])] (default
    axis 1); 13+: along one axis (default -1)."""
    f = _ROWS[op]
    if opset < 13:
        axis = 1 if axis is None else axis
        axis = axis + x.ndim if axis < 0 else axis
        rows = int(np.prod(x.shape[:axis]))
        return f(x.reshape(rows, -1)).reshape(x.shape)
    axis = -1 if axis is None else axis
    return np.moveaxis(f(np.moveaxis(x, axis, -1)), -1, axis)


# --- data movement ------------------------------------------------------------------------------------------

def pad(x, pads, mode="constant", value=0.0):
    """pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] as in every opset."""
    r = x.ndim
    width = [(pads[i], pads[i + r]) for i in range(r)]
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=value)
    return np.pad(x, width, mode={"reflect": "reflect", "edge": "edge"}[mode])


def _slice_indices(dim, start, end, step):
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
    else:
        start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return list(range(start, end, step))


def slice_(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    y = x
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        ax = ax + x.ndim if ax < 0 else ax
        y = np.take(y, _slice_indices(x.shape[ax], st, en, sp), axis=ax)
    return y


def squeeze(x, axes=None):
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(a + x.ndim if a < 0 else a for a in axes))


def unsqueeze(x, axes):
    rank = x.ndim + len(axes)
    y = x
    for a in sorted(a + rank if a < 0 else a for a in axes):
        y = np.expand_dims(y, a)
    return y


def split(x, axis, parts=None, count=None):
    """parts: explicit lengths; otherwise `count` equal parts."""
    if parts is None:
        parts = [x.shape[axis] // count] * count
    cuts = np.cumsum(parts)[:-1]
    return np.split(x, cuts, axis=axis)


def transpose(x, perm=None):
    return np.transpose(x, perm)


def flatten(x, axis):
    axis = axis + x.ndim if axis < 0 else axis
    rows = int(np.prod(x.shape[:axis]))
    return x.reshape(rows, -1)


def depth_to_space(x, b, mode="DCR"):
    n, c, h, w = x.shape
    if mode == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x, b):
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


# --- reductions ---------------------------------------------------------------------------------------------

def reduce(x, kind, axes, keepdims=1):
    f = {"mean": np.mean, "max": np.max, "sum": np.sum}[kind]
    ax = None if axes is None else tuple(a + x.ndim if a < 0 else a for a in axes)
    return f(x, axis=ax, keepdims=bool(keepdims))


# --- resize -------------------------------------------------------------------------------------------------

def _source_coord(o, in_len, out_len, scale, mode):
    if mode == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if mode == "align_corners":
        return 0.0 if out_len == 1 else o * (in_len - 1) / (out_len - 1)
    if mode == "asymmetric":
        return o / scale
    raise ValueError(mode)


def _nearest_index(xs, nearest_mode, in_len):
    if nearest_mode == "round_prefer_floor":
        i = math.ceil(xs - 0.5)
    elif nearest_mode == "floor":
        i = math.floor(xs)
    else:
        raise ValueError(nearest_mode)
    return min(max(i, 0), in_len - 1)


def _resize_axis(x, axis, out_len, scale, mode, coord, nearest_mode):
    in_len = x.shape[axis]
    rows = []
    for o in range(out_len):
        xs = _source_coord(o, in_len, out_len, scale, coord)
        if mode == "nearest":
            rows.append(np.take(x, [_nearest_index(xs, nearest_mode, in_len)], axis=axis))
            continue
        xs = min(max(xs, 0.0), in_len - 1.0)
        i0 = int(math.floor(xs))
        i1 = min(i0 + 1, in_len - 1)
        t = xs - i0
        rows.append((1.0 - t) * np.take(x, [i0], axis=axis) + t * np.take(x, [i1], axis=axis))
    return np.concatenate(rows, axis=axis)


def resize(x, mode, coord, scales=None, sizes=None, nearest_mode="round_prefer_floor"):
    """Resize-10 (scales, asymmetric, nearest rounds down for upsampling) and Resize-11/13 (separable; with
    sizes the scale is out/in; with scales the output length is floor(in * scale) and the scale is used as given)."""
    y = x
    for axis in range(x.ndim):
        if sizes is not None:
            out_len, scale = sizes[axis], sizes[axis] / x.shape[axis]
        else:
            scale = float(np.float32(scales[axis]))
            out_len = int(math.floor(x.shape[axis] * scale))
        if out_len == x.shape[axis] and scale == 1.0:
            continue
        y = _resize_axis(y, axis, out_len, scale, mode, coord, nearest_mode)
    return y


# --- pooling and convolution --------------------------------------------------------------------------------

def _pool_out_len(length, k, s, pb, pe, ceil_mode):
    span = length + pb + pe - k
    n = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (n - 1) * s >= length + pb:  # the last window must start inside the input or left pad
        n -= 1
    return n


def pool(x, kind, kernel, strides, pads, ceil_mode=0, count_include_pad=0):
    """MaxPool / AveragePool on NCHW; pads [top, left, bottom, right]. Padding never enters a max; for the
    average it counts (as zeros) only with count_include_pad=1, and never beyond the padded input."""
    n, c, h, w = x.shape
    oh = _pool_out_len(h, kernel[0], strides[0], pads[0], pads[2], ceil_mode)
    ow = _pool_out_len(w, kernel[1], strides[1], pads[1], pads[3], ceil_mode)
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * strides[0] - pads[0], j * strides[1] - pads[1]
            h1, w1 = h0 + kernel[0], w0 + kernel[1]
            win = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
                continue
            if count_include_pad:
                count = (min(h1, h + pads[2]) - h0) * (min(w1, w + pads[3]) - w0)
            else:
                count = win.shape[2] * win.shape[3]
            y[:, :, i, j] = win.sum(axis=(2, 3)) / count
    return y


def gemm(a, b, c, alpha=1.0, beta=1.0, trans_a=0, trans_b=0):
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    return alpha * (a.astype(np.float64) @ b.astype(np.float64)) + beta * c.astype(np.float64)


def conv2d(x, w, b, pads):
    """Conv with stride 1, dilation 1, group 1; pads [top, left, bottom, right]."""
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])])
    n, c, h, wd = xp.shape
    m, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,mc->nmhw", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j].astype(np.float64))
    return y + b.astype(np.float64).reshape(1, m, 1, 1)
