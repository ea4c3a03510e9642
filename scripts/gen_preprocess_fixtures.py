#!/usr/bin/python3
"""Builds the image-input preprocessing fixtures (hb_mapper's input_type_rt / input_type_train / norm_type /
mean_value / scale_value / input_space_and_range) with Debian's python3-torch 1.13.

Run with Debian's interpreter:  /usr/bin/python3 scripts/gen_preprocess_fixtures.py [--out test/data] [--only NAME]
An independent witness: the float preprocessing below is written with numpy from the documented formulas (no
bpu-mapper code); the goldens come from the torch QAT model (fake quant on, eval). Fixed seeds: byte-identical reruns.

Models (real QAT as scripts/gen_fixtures.py, whose helpers this reuses, but trained on normalized images so the input
fake-quant scale covers them; the last conv has a high-precision (float) output, no output fake quant):
  preprocess_rgb       input [1,3,32,32] NCHW: ConvBNReLU 3x3 3->8, ConvBNReLU 3x3 8->8 stride 2, Conv1x1 8->4;
                       output [1,4,16,16]. Trained on (rgb - [123.675, 116.28, 103.53]) * (1/[58.395, 57.12, 57.375])
                       (the scales written with 9 significant digits).
  preprocess_gray      input [1,1,32,32]: ConvBNReLU 3x3 1->8, Conv3x3 8->4 stride 2. Trained on (gray - 128) * 0.0078125.
  preprocess_rgb_nhwc  input [1,32,32,3] NHWC: x.permute(0,3,1,2), then preprocess_rgb's layers (input_layout_train NHWC).

Files per folder: model.onnx; image_<K>_<fmt>.npy (uint8, K = 0, 1; fmt in rgb_nhwc, rgb_nchw, bgr_nhwc, gray,
yuv444_nhwc, nv12, nv12_video: those the folder's cases use); image_0.png (lossless PNG of the K=0 source RGB
image, equal to image_0_rgb_nhwc.npy; in preprocess_gray, which has no RGB image, the gray image_0_gray.npy);
input_<case>_<K>.npy (float32, the preprocessed tensor fed to the model, in the model's layout);
golden_<case>_<K>.npy (float32 model output); witness.json (the cases with their config values, file patterns,
"images": 2, "input_name", "output_name", "input_scale" = scale of the ONNX's first QuantizeLinear, and
"output_scale" only if the output is fake-quantized). input_layout_rt is null for nv12.

Source images: synthetic 32x32 RGB uint8 (smooth gradients + blobs + noise, fixed numpy Generator); K=1 also has
saturated areas near 0 and 255. Runtime-format images are derived with the FORWARD conversions (numpy, float64, then
np.clip(np.rint(v), 0, 255).astype(np.uint8)):
- rgb NHWC [1,32,32,3]; rgb NCHW [1,3,32,32]; bgr NHWC (channels reversed); gray [1,32,32,1] with gray = 0.299R+0.587G+0.114B;
- yuv444 NHWC [1,32,32,3] full range BT.601: Y = 0.299R+0.587G+0.114B, U = -0.168736R-0.331264G+0.5B+128, V = 0.5R-0.418688G-0.081312B+128;
- nv12 [1, 48, 32] (rows 0..31 the Y plane, rows 32..47 interleaved U,V: row 32+j holds U(j,i),V(j,i) at columns 2i, 2i+1 for the 2x2 block (2j..2j+1, 2i..2i+1)); U(j,i) and V(j,i) = rint(mean of the block's 4 float U (resp. V) values), clipped;
- nv12 limited range (bt601_video): Y_v = 16 + Y*219/255, U_v = 128 + (U-128)*224/255 (same for V), computed from the float full-range values before rounding, then packed as nv12.

The float preprocessing (the documented formula the golden uses):
Input sample decode at pixel (y,x), channel k, H=W=32:
- NHWC 3-channel: s_k = img[0,y,x,k]; NCHW: s_k = img[0,k,y,x]; gray: s_0 = img[0,y,x,0].
- nv12: Y = img[0,y,x]; U = img[0, H + y//2, 2*(x//2)]; V = img[0, H + y//2, 2*(x//2)+1] (nearest chroma upsampling).
Range (only for nv12 with input_space_and_range bt601_video): Y' = (Y-16)*255/219, U' = (U-128)*255/224 + 128, V' likewise; else unchanged.
Color conversion to input_type_train (float64, NO clamping):
- rt equal to train: identity; rgb<->bgr: reverse channels.
- rt yuv444 or nv12 -> train rgb: R = Y + 1.402(V-128), G = Y - 0.344136(U-128) - 0.714136(V-128), B = Y + 1.772(U-128); train bgr: same, reversed to B,G,R.
- rt yuv444/nv12 -> train yuv444: (Y, U, V) after the range step.
Normalization per train channel c (norm_type): data_mean: v - mean_c; data_scale: v * scale_c; data_mean_and_scale: (v - mean_c) * scale_c.
(no_preprocess: v unchanged; a single mean/scale value applies to every channel.)
Then cast to float32, arrange in the model's layout (NCHW [1,C,32,32]; for the nhwc model NHWC), and run the QAT torch
model (fake quant on, eval) -> golden output (float32 .npy).

Checks run here: torch on each saved input_<case> reproduces the saved golden exactly; inputs that must coincide
(rgb NHWC / NCHW / bgr runtime, bgr train = reversed rgb train) are equal; cosine(golden rgb, golden yuv444) > 0.99
(nv12 cosines printed); the ONNX runs under onnxruntime when importable (else skipped, said so); the PNG reads back.
"""
import copy
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn
import torch.nn.intrinsic.qat as nniqat
from torch.ao.quantization.qconfig_mapping import QConfigMapping
from torch.ao.quantization.quantize_fx import prepare_qat_fx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

H = W = 32
MEAN_RGB = [123.675, 116.28, 103.53]
SCALE_RGB = [float(f"{1.0 / s:.9g}") for s in (58.395, 57.12, 57.375)]
MEAN_BGR, SCALE_BGR = MEAN_RGB[::-1], SCALE_RGB[::-1]


def q8(v):
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# Images

def natural_image(rng, saturate):
    """Smooth per-channel gradients + gaussian blobs + noise; saturate: contrast stretch and pure white / black /
    blue patches (values at 0 and 255, U at its 255.5 limit)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.empty((H, W, 3))
    for c in range(3):
        img[..., c] = rng.uniform(50, 205) + rng.uniform(-70, 70) * xx / (W - 1) + rng.uniform(-70, 70) * yy / (H - 1)
    for _ in range(4):
        cy, cx, r = rng.uniform(0, H), rng.uniform(0, W), rng.uniform(3, 9)
        img += rng.uniform(-110, 110, 3) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
    img += rng.normal(0, 6, img.shape)
    if saturate:
        img = (img - img.mean()) * 1.7 + 128
        img[1:7, 1:7] = 255
        img[-7:-1, -7:-1] = 0
        img[-7:-1, 1:7] = (0, 0, 255)
    return q8(img)


def pack_nv12(Y, U, V):
    out = np.zeros((H * 3 // 2, W), np.uint8)
    out[:H] = q8(Y)
    out[H:, 0::2] = q8(U.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3)))
    out[H:, 1::2] = q8(V.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3)))
    return out[None]


def runtime_images(src):
    """Every runtime format of one uint8 [H,W,3] RGB source image (the FORWARD conversions)."""
    f = src.astype(np.float64)
    R, G, B = f[..., 0], f[..., 1], f[..., 2]
    Y = 0.299 * R + 0.587 * G + 0.114 * B
    U = -0.168736 * R - 0.331264 * G + 0.5 * B + 128
    V = 0.5 * R - 0.418688 * G - 0.081312 * B + 128
    return {"rgb_nhwc": src[None].copy(), "rgb_nchw": src.transpose(2, 0, 1)[None].copy(),
            "bgr_nhwc": src[..., ::-1][None].copy(), "gray": q8(Y)[None, :, :, None],
            "yuv444_nhwc": q8(np.stack([Y, U, V], -1))[None], "nv12": pack_nv12(Y, U, V),
            "nv12_video": pack_nv12(16 + Y * 219 / 255, 128 + (U - 128) * 224 / 255, 128 + (V - 128) * 224 / 255)}


# ---------------------------------------------------------------------------------------------------------------
# The float preprocessing (docstring formulas)

def preprocess(img, case, layout_train):
    rt, train = case["input_type_rt"], case["input_type_train"]
    if rt == "nv12":
        yy, xx = np.mgrid[0:H, 0:W]
        s = np.stack([img[0, :H, :], img[0, H + yy // 2, 2 * (xx // 2)], img[0, H + yy // 2, 2 * (xx // 2) + 1]],
                     -1).astype(np.float64)
        if case["input_space_and_range"] == "bt601_video":
            s[..., 0] = (s[..., 0] - 16) * 255 / 219
            s[..., 1:] = (s[..., 1:] - 128) * 255 / 224 + 128
    elif rt == "gray":
        s = img[0, :, :, 0:1].astype(np.float64)
    elif case["input_layout_rt"] == "NCHW":
        s = img[0].transpose(1, 2, 0).astype(np.float64)
    else:
        s = img[0].astype(np.float64)
    if rt == train:
        v = s
    elif {rt, train} == {"rgb", "bgr"}:
        v = s[..., ::-1]
    elif rt in ("yuv444", "nv12") and train in ("rgb", "bgr", "yuv444"):
        Y, U, V = s[..., 0], s[..., 1] - 128, s[..., 2] - 128
        rgb = np.stack([Y + 1.402 * V, Y - 0.344136 * U - 0.714136 * V, Y + 1.772 * U], -1)
        v = {"rgb": rgb, "bgr": rgb[..., ::-1], "yuv444": s}[train]
    else:
        raise ValueError(f"no conversion {rt} -> {train}")
    mean = np.array(case["mean_value"] or [0.0], np.float64)
    scale = np.array(case["scale_value"] or [1.0], np.float64)
    norm = case["norm_type"]
    if norm == "data_mean":
        v = v - mean
    elif norm == "data_scale":
        v = v * scale
    elif norm == "data_mean_and_scale":
        v = (v - mean) * scale
    elif norm != "no_preprocess":
        raise ValueError(norm)
    v = v.astype(np.float32)
    # .copy(): standard C strides (a v[None] view has a 0 stride that changes torch's conv path for the permuted
    # NHWC model by an ulp, so the golden would not match a rerun on the saved .npy).
    return (v[None] if layout_train == "NHWC" else v.transpose(2, 0, 1)[None]).copy()


# ---------------------------------------------------------------------------------------------------------------
# Models and QAT on normalized images

class RgbNet(nn.Module):
    def __init__(self, nhwc=False):
        super().__init__()
        self.nhwc = nhwc
        self.layer0 = gf.ConvBNReLU(3, 8, 3)
        self.layer1 = gf.ConvBNReLU(8, 8, 3, stride=2)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        if self.nhwc:
            x = x.permute(0, 3, 1, 2)
        return self.head(self.layer1(self.layer0(x)))


class GrayNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer0 = gf.ConvBNReLU(1, 8, 3)
        self.head = nn.Conv2d(8, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return self.head(self.layer0(x))


def run_qat_images(float_model, batches):
    """gf.run_qat's recipe (8 SGD steps distilling the float model, BN stats frozen for the last two, observers
    off for the last, BN folded) on the given batches of normalized images instead of torch.randn. The output keeps its int8 fake
    quantization, so the tests can count differences in output LSBs."""
    teacher = copy.deepcopy(float_model).eval()
    model = prepare_qat_fx(float_model.train(), QConfigMapping().set_global(gf.QCONFIG), (batches[0],),
                           backend_config=gf.qint8_backend_config())
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    for step, x in enumerate(batches):
        if step == len(batches) - 2:
            model.apply(nniqat.freeze_bn_stats)
        if step == len(batches) - 1:
            model.apply(torch.ao.quantization.disable_observer)
        with torch.no_grad():
            target = teacher(x)
        loss = nn.functional.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.apply(torch.ao.quantization.disable_observer)
    model.eval()
    gf.fold_bn_after_qat(model)
    return model


def case(name, train, rt, fmt, layout_rt="NHWC", rng="regular", norm="data_mean_and_scale", mean=None, scale=None):
    return {"name": name, "input_type_train": train, "input_type_rt": rt, "input_layout_rt": layout_rt,
            "input_space_and_range": rng, "norm_type": norm, "mean_value": mean, "scale_value": scale, "fmt": fmt}


def rgb_train(name, rt, fmt, **kw):
    return case(name, "rgb", rt, fmt, mean=MEAN_RGB, scale=SCALE_RGB, **kw)


def bgr_train(name, rt, fmt, **kw):
    return case(name, "bgr", rt, fmt, mean=MEAN_BGR, scale=SCALE_BGR, **kw)


def yuv_train(name, rt, fmt, **kw):
    return case(name, "yuv444", rt, fmt, mean=[128.0] * 3, scale=[0.0078125] * 3, **kw)


RGB_CASES = [
    rgb_train("rgb_from_rgb_nhwc", "rgb", "rgb_nhwc"),
    rgb_train("rgb_from_rgb_nchw", "rgb", "rgb_nchw", layout_rt="NCHW"),
    rgb_train("rgb_from_bgr", "bgr", "bgr_nhwc"),
    rgb_train("rgb_from_yuv444", "yuv444", "yuv444_nhwc"),
    rgb_train("rgb_from_nv12", "nv12", "nv12", layout_rt=None),
    rgb_train("rgb_from_nv12_video", "nv12", "nv12_video", layout_rt=None, rng="bt601_video"),
    bgr_train("bgr_from_bgr", "bgr", "bgr_nhwc"),
    bgr_train("bgr_from_rgb", "rgb", "rgb_nhwc"),
    bgr_train("bgr_from_nv12", "nv12", "nv12", layout_rt=None),
    yuv_train("yuv444_from_yuv444", "yuv444", "yuv444_nhwc"),
    yuv_train("yuv444_from_nv12", "nv12", "nv12", layout_rt=None),
    case("rgb_data_mean", "rgb", "rgb", "rgb_nhwc", norm="data_mean", mean=MEAN_RGB),
    case("rgb_data_scale", "rgb", "rgb", "rgb_nhwc", norm="data_scale", scale=[0.0078125]),
    case("rgb_no_preprocess", "rgb", "rgb", "rgb_nhwc", norm="no_preprocess"),
]
GRAY_CASES = [case("gray_from_gray", "gray", "gray", "gray", mean=[128.0], scale=[0.0078125])]
NHWC_CASES = [
    rgb_train("rgb_from_rgb_nhwc", "rgb", "rgb_nhwc"),
    rgb_train("rgb_from_rgb_nchw", "rgb", "rgb_nchw", layout_rt="NCHW"),
    rgb_train("rgb_from_nv12", "nv12", "nv12", layout_rt=None),
]
# name: (model factory, layout_train, cases, pairs of cases whose inputs must be bit-identical)
MODELS = {
    "preprocess_rgb": (RgbNet, "NCHW", RGB_CASES, [("rgb_from_rgb_nhwc", "rgb_from_rgb_nchw"),
                                                   ("rgb_from_rgb_nhwc", "rgb_from_bgr"),
                                                   ("bgr_from_bgr", "bgr_from_rgb")]),
    "preprocess_gray": (GrayNet, "NCHW", GRAY_CASES, []),
    "preprocess_rgb_nhwc": (lambda: RgbNet(nhwc=True), "NHWC", NHWC_CASES, [("rgb_from_rgb_nhwc", "rgb_from_rgb_nchw")]),
}
SOURCE_SEEDS = (1000, 1001)  # K=0, K=1 (K=1 saturated); shared by all folders


def onnx_scale(path):
    """Scale of the first QuantizeLinear, and of the one right before the output's DequantizeLinear (if any)."""
    graph = onnx.load(path).graph
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    producer = {o: n for n in graph.node for o in n.output}
    first_q = next(n for n in graph.node if n.op_type == "QuantizeLinear")
    out = producer.get(graph.output[0].name)
    out_scale = None
    if out is not None and out.op_type == "DequantizeLinear" and producer[out.input[0]].op_type == "QuantizeLinear":
        out_scale = float(consts[out.input[1]])
    return float(consts[first_q.input[1]]), out_scale


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def run(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x.copy())).numpy().astype(np.float32)


def build(out_dir, name, seed):
    factory, layout_train, cases, equal_pairs = MODELS[name]
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    # QAT on normalized natural-ish images (half of them saturated, so the input range is covered).
    rng = np.random.default_rng(seed)
    batches = [torch.from_numpy(np.concatenate(
        [preprocess(runtime_images(natural_image(rng, sat))[cases[0]["fmt"]], cases[0], layout_train)
         for sat in (True, False)])) for _ in range(8)]
    torch.manual_seed(seed + 1)
    float_model = factory()
    gf.randomize_bn(float_model, torch.Generator().manual_seed(seed + 2))
    model = run_qat_images(float_model, batches)
    path = os.path.join(folder, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(model, batches[0][:1], path, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
    input_scale, output_scale = onnx_scale(path)

    sources = [natural_image(np.random.default_rng(s), saturate=(k == 1)) for k, s in enumerate(SOURCE_SEEDS)]
    fmts = sorted({c["fmt"] for c in cases})
    for k, src in enumerate(sources):
        imgs = runtime_images(src)
        for fmt in fmts:
            np.save(os.path.join(folder, f"image_{k}_{fmt}.npy"), imgs[fmt])
    from PIL import Image
    png = os.path.join(folder, "image_0.png")
    png_pixels = runtime_images(sources[0])["gray"][0, :, :, 0] if fmts == ["gray"] else sources[0]
    Image.fromarray(png_pixels).save(png, format="PNG")
    assert np.array_equal(np.asarray(Image.open(png)), png_pixels), "PNG does not read back"

    witness_cases, inputs, goldens = [], {}, {}
    for c in cases:
        entry = {key: c[key] for key in ("name", "input_type_train", "input_type_rt")}
        entry.update(input_layout_train=layout_train, input_layout_rt=c["input_layout_rt"],
                     input_space_and_range=c["input_space_and_range"], norm_type=c["norm_type"],
                     mean_value=c["mean_value"], scale_value=c["scale_value"], image=f"image_{{K}}_{c['fmt']}.npy",
                     golden=f"golden_{c['name']}_{{K}}.npy", input=f"input_{c['name']}_0.npy")
        witness_cases.append(entry)
        for k in range(len(sources)):
            x = preprocess(np.load(os.path.join(folder, f"image_{k}_{c['fmt']}.npy")), c, layout_train)
            inputs[c["name"], k], goldens[c["name"], k] = x, run(model, x)
            if k == 0:  # the preprocessed tensor of image 0 only (keeps the folder small)
                np.save(os.path.join(folder, entry["input"]), x)
            np.save(os.path.join(folder, entry["golden"].format(K=k)), goldens[c["name"], k])
    witness = {"cases": witness_cases, "images": len(sources), "input_name": "input", "output_name": "output",
               "input_scale": input_scale}
    if output_scale is not None:
        witness["output_scale"] = output_scale
    with open(os.path.join(folder, "witness.json"), "w") as f:
        json.dump(witness, f, indent=1)
        f.write("\n")

    # --- checks ---
    for c in cases:  # torch on the saved input reproduces the saved golden (trivially)
        for k in range(len(sources)):
            x = np.load(os.path.join(folder, f"input_{c['name']}_0.npy")) if k == 0 else inputs[c["name"], k]
            assert np.array_equal(run(model, x), np.load(os.path.join(folder, f"golden_{c['name']}_{k}.npy")))
    for a, b in equal_pairs:
        for k in range(len(sources)):
            assert np.array_equal(inputs[a, k], inputs[b, k]), (a, b, k)
    if name == "preprocess_rgb":
        for k in range(len(sources)):
            assert np.array_equal(inputs["bgr_from_bgr", k], inputs["rgb_from_rgb_nhwc", k][:, ::-1])
            for other in ("rgb_from_yuv444", "rgb_from_nv12", "rgb_from_nv12_video"):
                cos = cosine(goldens["rgb_from_rgb_nhwc", k], goldens[other, k])
                print(f"  {name} K={k} cosine(golden rgb_from_rgb_nhwc, golden {other}) = {cos:.6f}")
                assert other != "rgb_from_yuv444" or cos > 0.99, cos
    if name == "preprocess_rgb_nhwc":
        for k in range(len(sources)):
            cos = cosine(goldens["rgb_from_rgb_nhwc", k], goldens["rgb_from_nv12", k])
            print(f"  {name} K={k} cosine(golden rgb_from_rgb_nhwc, golden rgb_from_nv12) = {cos:.6f}")
    try:
        import onnxruntime
    except ImportError:
        print(f"  {name}: onnxruntime not importable; ONNX second-path check skipped")
    else:
        sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        for (cname, k), x in inputs.items():
            got = sess.run(None, {"input": x})[0]
            err = np.abs(got - goldens[cname, k]).max()
            print(f"  {name} {cname} K={k}: onnxruntime max |diff| = {err:.3g}")
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"{name}: {len(cases)} cases x {len(sources)} images, input_scale {input_scale!r}, "
          f"output_scale {output_scale!r}, {size} bytes")


def main():
    gf.seeded_fixture_main(__doc__, MODELS, build, seed_base=700)


if __name__ == "__main__":
    main()
