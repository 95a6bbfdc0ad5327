#!/usr/bin/env python3
"""Speed regression benchmark: gijiroku vs faster-whisper (int8 and float32) on the same CPU and
CTranslate2 weights, in ONE alternating run (A B C A B C ..., the order rotated every round),
because this machine is shared and noisy. Prints medians and the ratio
gijiroku / faster-whisper (best of its compute types) per file.

    python3 benches/speed_ratio.py --audio bench-audio/asr_en_joined.wav -l en --runs 3 \\
        [--beam 5] [--threads 2] [--variant "before=/tmp/old-gijiroku --sequential"] ...

Each gijiroku variant is `label=BINARY [bench asr flags]` (default: this tree's release build);
it runs as `BINARY bench asr FILE --child` (one fresh process per run, peak RSS of that run).
faster-whisper runs through benches/faster_whisper_bench.py; give --ct2 DIR, or the split
CTranslate2 source of whisper-base under --models-dir is joined into a temporary folder.
With a .txt beside the audio a WER (lower-cased, punctuation dropped) is printed, only to
compare the variants with each other.
"""

import argparse
import json
import os
import pathlib
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def ct2_dir(models: pathlib.Path, scratch: pathlib.Path) -> pathlib.Path:
    # Resolved: a models folder of symlinks (a scratch folder beside the real one) still finds
    # the sources, which the card names relative to the real folder's parent.
    card_path = (models / "ggml-whisper-base.json").resolve()
    card = json.loads(card_path.read_text())
    parts = [pathlib.Path(p.strip()) for p in card["source"].split(" + ")]
    parts = [p if p.is_absolute() else card_path.parent.parent / p for p in parts]
    if len(parts) == 1 and parts[0].name == "model.bin":
        return parts[0].parent
    out = scratch / "ct2"
    out.mkdir()
    with open(out / "model.bin", "wb") as w:
        for p in parts:
            with open(p, "rb") as r:
                shutil.copyfileobj(r, w, 1 << 20)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json", "preprocessor_config.json"):
        for p in parts:
            if (p.parent / name).is_file():
                shutil.copy(p.parent / name, out / name)
                break
    return out


def words(text: str):
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def wer(ref: str, hyp: str) -> float:
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)] / max(1, len(r))


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if p.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(cmd)}\n{p.stderr.strip().splitlines()[-1:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--audio", action="append", required=True)
    p.add_argument("--models-dir", default=os.environ.get("GIJIROKU_MODELS", str(HERE.parent / "models")))
    p.add_argument("--ct2", help="CTranslate2 folder for faster-whisper")
    p.add_argument("-l", "--language")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--variant", action="append", default=[], help="label=BINARY [flags]")
    p.add_argument("--compute-types", default="int8,float32")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--json", help="write every run here")
    a = p.parse_args()

    models = pathlib.Path(a.models_dir).resolve()
    variants = []
    for v in a.variant or [f"gijiroku={HERE.parent / 'target' / 'release' / 'gijiroku'}"]:
        label, _, rest = v.partition("=")
        variants.append((label, shlex.split(rest)))
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="speed-ratio-"))
    try:
        ct2 = pathlib.Path(a.ct2) if a.ct2 else ct2_dir(models, scratch)
        engines = [(lbl, "g", argv) for lbl, argv in variants]
        engines += [(f"fw-{ct}", "f", ct) for ct in a.compute_types.split(",") if ct]
        all_runs = {}
        for audio in a.audio:
            runs = {e[0]: [] for e in engines}
            for k in range(a.runs):
                order = engines[k % len(engines):] + engines[: k % len(engines)]
                for label, kind, x in order:
                    if kind == "g":
                        cmd = [x[0], "--quiet", "--models-dir", str(models), "bench", "asr", audio,
                               "--threads", str(a.threads), "--beam", str(a.beam), "--child", *x[1:]]
                    else:
                        cmd = [a.python, str(HERE / "faster_whisper_bench.py"), "--model-dir", str(ct2),
                               "--audio", audio, "--threads", str(a.threads), "--beam", str(a.beam),
                               "--compute-type", x, "--vad", "--words"]
                    if a.language:
                        cmd += ["--language", a.language]
                    r = run_json(cmd)
                    r["load"] = os.getloadavg()[0]
                    runs[label].append(r)
                    print(f"  {pathlib.Path(audio).name} run {k + 1} {label}: {r['wall_seconds']:.1f} s wall, "
                          f"{r['user_seconds'] + r['sys_seconds']:.1f} s CPU, load {r['load']:.1f}", file=sys.stderr)
            all_runs[audio] = runs
            ref_path = pathlib.Path(audio).with_suffix(".txt")
            ref = ref_path.read_text(encoding="utf-8") if ref_path.is_file() else None
            secs = runs[engines[0][0]][0]["audio_seconds"]
            print(f"\n{audio}: {secs:.1f} s, beam {a.beam}, {a.threads} threads, median of {a.runs} alternating runs")
            print(f"{'ENGINE':<14} {'WALL s':>7} {'CPU s':>7} {'PEAK MiB':>9} {'WER':>6}  walls")
            med, med_cpu = {}, {}
            for label, _, _ in engines:
                rs = runs[label]
                med[label] = statistics.median(r["wall_seconds"] for r in rs)
                cpu = med_cpu[label] = statistics.median(r["user_seconds"] + r["sys_seconds"] for r in rs)
                rss = max(r["peak_rss_bytes"] for r in rs) / 2**20
                w = f"{100 * wer(ref, rs[0]['text']):.1f}%" if ref else "-"
                walls = " ".join(f"{r['wall_seconds']:.1f}" for r in rs)
                print(f"{label:<14} {med[label]:>7.2f} {cpu:>7.2f} {rss:>9.0f} {w:>6}  {walls}")
            fw_best = min(v for k, v in med.items() if k.startswith("fw-"))
            # CPU seconds too: on this shared machine the wall ratio swings with the load, the
            # CPU-seconds ratio much less (a spinning thread pool shows up in it, though).
            fw_best_cpu = min(v for k, v in med_cpu.items() if k.startswith("fw-"))
            for label, kind, _ in engines:
                if kind == "g":
                    print(f"ratio {label} / faster-whisper best: {med[label] / fw_best:.2f} "
                          f"(CPU seconds {med_cpu[label] / fw_best_cpu:.2f})")
            loads = [r["load"] for rs in runs.values() for r in rs]
            print(f"load average seen: {min(loads):.1f}-{max(loads):.1f}")
        if a.json:
            pathlib.Path(a.json).write_text(json.dumps(all_runs, indent=1, ensure_ascii=False))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
