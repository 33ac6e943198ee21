"""Command line (trainer/README.md): `python -m dicom_ml_trainer detect|classify|validate|export|doctor`.

Exit status: 0 done, 1 failed (an `error` event and one stderr line say why), 2 bad arguments,
130 interrupted (SIGINT/SIGTERM/SIGHUP; the last checkpoint is kept for `--resume`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from .errors import TrainerError, missing_package
from .events import EventWriter

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="run folder (events.jsonl, weights/, model.onnx, model.card.json)")
    p.add_argument("--device", help="auto | cpu | 0 | 0,1 (default auto)")
    p.add_argument("--workers", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--imgsz", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--amp", choices=("auto", "on", "off"))
    p.add_argument("--resume", action="store_true", help="continue the run in --out from weights/last.pt")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dicom_ml_trainer", description=__doc__.splitlines()[0])
    sub = root.add_subparsers(dest="command", required=True)
    d = sub.add_parser("detect", help="train a YOLO vertebra detector (ultralytics)")
    d.add_argument("--data", help="ultralytics data.yaml (dicom-ml prepare: OUT/detect/data.yaml)")
    d.add_argument("--model", help="yolov8n.yaml (default) … yolov8x.yaml, yolov5l.yaml, or a local .pt")
    d.add_argument("--optimizer")
    d.add_argument("--lr0", type=float)
    d.add_argument("--patience", type=int)
    d.add_argument("--time", type=float, help="wall budget in hours (ultralytics re-plans the epochs to it)")
    d.add_argument("--cache", choices=("none", "ram", "disk"))
    d.add_argument("--mosaic", type=float)
    d.add_argument("--close-mosaic", type=int, dest="close_mosaic")
    d.add_argument("--warmup-epochs", type=float, dest="warmup_epochs")
    _add_common(d)
    c = sub.add_parser("classify", help="train a fracture classifier (paper CNN, ResNet50, DenseNet121)")
    c.add_argument("--data", help="a dicom-ml prepare output folder, or an ImageFolder root with train/ and val/")
    c.add_argument("--model", help="cnn (default) | resnet50 | densenet121")
    c.add_argument("--weights", help="a local checkpoint to start from")
    c.add_argument("--input", choices=("auto", "slice", "vertebra-crop"))
    c.add_argument("--optimizer", choices=("adamw", "sgd"))
    c.add_argument("--lr", type=float)
    c.add_argument("--weight-decay", type=float, dest="weight_decay")
    c.add_argument("--budget", type=float, help="wall budget in minutes (the cosine schedule ends on it)")
    c.add_argument("--nproc", type=int, default=1, help="processes on this node (torchrun DDP; gloo on CPU)")
    _add_common(c)
    v = sub.add_parser("validate", help="metrics of an exported model on a dataset split")
    v.add_argument("--model", required=True, help="model.onnx with its .card.json beside it")
    v.add_argument("--data", required=True, help="data.yaml (detector) or prepared folder (classifier)")
    v.add_argument("--split", default="val")
    v.add_argument("--out", help="write the result JSON here")
    v.add_argument("--record", action="store_true", help="append the result to the card's evaluations")
    e = sub.add_parser("export", help="(re)export a run's best weights to model.onnx + card")
    e.add_argument("--run", required=True)
    o = sub.add_parser("doctor", help="interpreter, packages, CUDA devices")
    o.add_argument("--json", action="store_true")
    return root


def _config(cls: type, args: argparse.Namespace) -> Any:
    """The dataclass from the explicit arguments; on --resume, from the run's config.json with only
    --device/--workers taken from the command line (a resumed run keeps its recipe)."""
    names = {f.name for f in fields(cls)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.resume:
        cfg_file = Path(args.out).resolve() / "config.json"
        if not cfg_file.is_file():
            raise TrainerError("dataset", f"{cfg_file}: nothing to resume (no config.json in the run folder)")
        saved = json.loads(cfg_file.read_text(encoding="utf-8"))
        keep = {k: v for k, v in saved.items() if k in names}
        given = {**keep, **{k: given[k] for k in ("device", "workers") if k in given}, "resume": True, "out": args.out}
    if not given.get("data"):
        raise TrainerError("usage", "--data is required")
    return cls(**given)


def _torchrun(args: argparse.Namespace, nproc: int) -> int:
    """Re-run this classify command under torchrun with `nproc` processes (DDP)."""
    argv = [a for a in sys.argv[1:]]
    if "--nproc" in argv:
        i = argv.index("--nproc")
        del argv[i : i + 2]
    argv = [a for a in argv if not a.startswith("--nproc=")]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "dicom_ml_trainer",
        *argv,
    ]
    env = {**os.environ, "DICOM_ML_DDP_CHILD": "1"}
    return subprocess.call(cmd, env=env)


def _run(args: argparse.Namespace) -> int:
    from .runtime import install_signal_handlers, watch_parent

    install_signal_handlers()
    watch_parent()
    if args.command == "doctor":
        from .doctor import report

        r = report()
        if args.json:
            print(json.dumps(r, indent=2))
        else:
            print(f"python {r['pythonVersion']} ({r['python']}), dicom-ml-trainer {r['trainer']}")
            for name, ver in r["packages"].items():
                print(f"  {name:12} {ver or 'MISSING'}")
            devs = r["cuda"]["devices"]
            print("  CUDA: " + (", ".join(f"{d['index']}: {d['name']}" for d in devs) if devs else "no device"))
            if r["install"]:
                print(f"install: {r['install']}")
        return 0 if r["ok"] else EXIT_FAILED
    if args.command == "validate":
        from .validate import validate

        result = validate(
            Path(args.model), Path(args.data), args.split, Path(args.out) if args.out else None, args.record
        )
        print(json.dumps(result["metrics"], indent=2))
        return 0
    if args.command == "export":
        run = Path(args.run).resolve()
        if (run / "args.yaml").is_file():  # an ultralytics run
            from .detect import DetectConfig, export_detector, read_data_yaml

            saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
            cfg = DetectConfig(**{k: v for k, v in saved.items() if k in {f.name for f in fields(DetectConfig)}})
            onnx, card = export_detector(run, read_data_yaml(Path(cfg.data)), cfg, None, 0.0)
        else:
            from .classify import export_best

            onnx, card = export_best(run)
        print(json.dumps({"onnx": str(onnx), "card": str(card)}))
        return 0
    if args.command == "detect":
        from .detect import DetectConfig, train_detect

        end = train_detect(_config(DetectConfig, args))
    else:
        from .classify import ClassifyConfig, train_classify
        from .runtime import parse_device

        cfg = _config(ClassifyConfig, args)
        choice = parse_device(cfg.device)
        nproc = len(choice.indices) if choice.multi_gpu else args.nproc
        if nproc > 1 and "WORLD_SIZE" not in os.environ:
            return _torchrun(args, nproc)
        end = train_classify(cfg)
    if end:
        print(f"done: {end['onnx']}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = getattr(args, "out", None) if args.command in ("detect", "classify") else None
    rank0 = int(os.environ.get("RANK", 0)) == 0
    events = EventWriter(Path(out).resolve(), enabled=rank0) if out else None

    def fail(kind: str, message: str, code: int) -> int:
        line = " ".join(message.split())
        if events:
            events.error(kind, line)
        if rank0:
            print(f"dicom_ml_trainer {args.command}: {line}", file=sys.stderr)
        return code

    try:
        return _run(args)
    except KeyboardInterrupt:
        return fail(
            "interrupted", "training interrupted; the last checkpoint is kept: rerun with --resume", EXIT_INTERRUPTED
        )
    except TrainerError as err:
        return fail(
            err.kind if err.kind != "usage" else "failed", str(err), EXIT_USAGE if err.kind == "usage" else EXIT_FAILED
        )
    except ImportError as err:
        e = missing_package(err)
        return fail(e.kind, str(e), EXIT_FAILED)
    except ValueError as err:
        return fail("failed", str(err), EXIT_USAGE)
    except Exception as err:
        if os.environ.get("DICOM_ML_DEBUG"):
            raise
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "out of memory" in msg.lower():
            return fail(
                "cuda-oom",
                f"out of memory at batch size {getattr(args, 'batch', None) or 'default'}: "
                f"rerun with a smaller --batch ({msg})",
                EXIT_FAILED,
            )
        return fail("failed", f"{type(err).__name__}: {msg} (set DICOM_ML_DEBUG=1 for the stack)", EXIT_FAILED)
