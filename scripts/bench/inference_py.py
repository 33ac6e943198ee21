"""Python peers of inference.ts: per-slice YOLO detection on prepared detect PNGs, timed the same way.

Usage: inference_py.py MODEL IMGSZ THREADS PNG...
A small line protocol, so that inference.ts can interleave calls of ours and of both peers image by image (a load change on
a shared machine then hits all three alike): after loading and one warm-up pass of each contender it prints
{"ready": true, "versions": {...}}; then for each line "ort I" or "ultralytics I" on stdin it runs that
contender once on image I and prints {"ms": wall ms of the call, "dets": [{cls, conf, box}, ...]} (the
detections for the parity check). Stdout carries these lines only (ultralytics' log goes to stderr).

Contenders, each timed from an image already decoded in memory (PNG decoding excluded, as in ours):
- ort: the work of our detectImage done with numpy/cv2 + onnxruntime-python + torchvision —
  ultralytics' LetterBox (cv2.resize INTER_LINEAR, pad 114), grey repeated to 3 channels, /255, NCHW float32,
  InferenceSession.run (intra_op_num_threads = THREADS, graph optimisation all, as our SessionCache), then
  ultralytics' non_max_suppression steps (best class > conf, xywh → xyxy, class offset 7680,
  torchvision.ops.nms, max_det) and scale_boxes back to the image.
- ultralytics: YOLO(MODEL, task='detect').predict(bgr, imgsz=IMGSZ, verbose=False) on the 3-channel array
  cv2.imread gives for the PNG (what predict would read from the file), on its onnxruntime backend.
  torch.set_num_threads(THREADS). Its InferenceSession is made with onnxruntime's default thread count
  (one per physical core): ultralytics' public API has no setting for it (nn/backends/onnx.py).
"""
import json
import os
import sys
import tempfile
import time

# ultralytics logs to stdout ("Loading … for ONNX Runtime inference…"): keep fd 1 for our JSON only.
RESULT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

# Keep ultralytics off the network and out of the user's settings (it checks and writes both on import).
os.environ["YOLO_OFFLINE"] = "true"
os.environ["YOLO_AUTOINSTALL"] = "false"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-cfg-"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

CONF, IOU, MAX_DET, MAX_NMS, MAX_WH = 0.25, 0.7, 300, 30000, 7680  # ultralytics predict defaults


def letterbox(gray: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """ultralytics LetterBox(auto=False, center=True) on a grey image: resized and padded size×size, gain, left, top."""
    h, w = gray.shape
    r = min(size / h, size / w)
    nw, nh = round(w * r), round(h * r)
    dw, dh = (size - nw) / 2, (size - nh) / 2
    img = cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (w, h) else gray
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    if top or bottom or left or right:
        img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=114)
    return img, r, left, top


class OrtDetector:
    def __init__(self, model: str, size: int, threads: int):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.size = size

    def __call__(self, gray: np.ndarray) -> list[dict]:
        img, gain, left, top = letterbox(gray, self.size)
        x = np.empty((1, 3, self.size, self.size), dtype=np.float32)
        x[0, 0] = img
        x[0, 0] /= 255
        x[0, 1] = x[0, 0]
        x[0, 2] = x[0, 0]
        out = self.session.run(None, {self.input: x})[0][0]  # (4 + nc, A)
        scores = out[4:]
        best = scores.max(0)
        keep = best > CONF
        if not keep.any():
            return []
        cls = scores.argmax(0)[keep]
        conf = best[keep]
        xywh = out[:4, keep].T
        order = np.argsort(-conf, kind="stable")[:MAX_NMS]
        xywh, conf, cls = xywh[order], conf[order], cls[order]
        xyxy = np.empty_like(xywh)
        xyxy[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
        xyxy[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
        offset = (cls * MAX_WH).astype(np.float32)[:, None]
        idx = torchvision.ops.nms(torch.from_numpy(xyxy + offset), torch.from_numpy(conf), IOU)[:MAX_DET].numpy()
        boxes = xyxy[idx]
        boxes[:, [0, 2]] -= left  # scale_boxes: remove padding, divide by gain, clip to the image
        boxes[:, [1, 3]] -= top
        boxes /= gain
        h, w = gray.shape
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        return [{"cls": int(c), "conf": float(s), "box": [float(v) for v in b]} for c, s, b in zip(cls[idx], conf[idx], boxes)]


def ultralytics_dets(result) -> list[dict]:
    b = result.boxes
    return [{"cls": int(c), "conf": float(s), "box": [float(v) for v in xyxy]}
            for c, s, xyxy in zip(b.cls.tolist(), b.conf.tolist(), b.xyxy.tolist())]


def send(obj: dict) -> None:
    RESULT.write(json.dumps(obj) + "\n")
    RESULT.flush()


def main() -> None:
    model, size, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    paths = sys.argv[4:]
    torch.set_num_threads(threads)
    from ultralytics import YOLO  # after the environment above
    import ultralytics

    grays = [cv2.imread(p, cv2.IMREAD_GRAYSCALE) for p in paths]
    bgrs = [cv2.imread(p) for p in paths]
    ortdet = OrtDetector(model, size, threads)
    yolo = YOLO(model, task="detect")
    run = {
        "ort": lambda i: ortdet(grays[i]),
        "ultralytics": lambda i: ultralytics_dets(yolo.predict(bgrs[i], imgsz=size, verbose=False)[0]),
    }
    for f in run.values():  # warm-up pass: session start, predictor setup, caches
        for i in range(len(paths)):
            f(i)
    send({"ready": True, "versions": {"onnxruntime": ort.__version__, "ultralytics": ultralytics.__version__,
                                      "torch": torch.__version__, "opencv": cv2.__version__, "numpy": np.__version__}})
    for line in sys.stdin:
        who, _, index = line.strip().partition(" ")
        if who not in run:
            break
        i = int(index)
        t = time.perf_counter()
        d = run[who](i)
        send({"ms": (time.perf_counter() - t) * 1000, "dets": d})

if __name__ == "__main__":
    main()
