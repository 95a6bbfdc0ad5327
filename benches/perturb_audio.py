#!/usr/bin/env python3
"""Perturbed copies of an eval folder, to compare two builds or models on more decisions than
../shared/eval's few files give (a change in summation order flips near-ties in beam search;
one flip on 8 Japanese files moves the CER by a point). Every WAV with a .txt beside it is
written again at each speed (resampled, so pitch moves too) and with white noise at a given
SNR; the .txt is copied unchanged. Real speech stays the judge: the copies only multiply it.
    python3 benches/perturb_audio.py ../shared/eval/asr_ja /tmp/asr_ja_perturbed \\
        [--speeds 0.9,0.95,1.05,1.1] [--snr 20] [--seed 1]
Needs numpy (faster-whisper's dependency, installed for benches/speed_ratio.py).
"""
import argparse
import pathlib
import shutil
import sys
import wave

import numpy as np


def read_wav(path: pathlib.Path):
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV is supported")
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    return data.reshape(-1, channels).mean(axis=1) / 32768.0, rate


def write_wav(path: pathlib.Path, samples: np.ndarray, rate: int):
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--speeds", default="0.9,0.95,1.05,1.1")
    p.add_argument("--snr", type=float, default=20.0, help="dB; 0 = no noise copy")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    src, out = pathlib.Path(args.src), pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    speeds = [float(s) for s in args.speeds.split(",") if s]
    count = 0
    for wav in sorted(src.glob("*.wav")):
        txt = wav.with_suffix(".txt")
        if not txt.is_file():
            continue
        samples, rate = read_wav(wav)
        variants = []
        for speed in speeds:
            n = int(len(samples) / speed)
            x = np.interp(np.arange(n) * speed, np.arange(len(samples)), samples)
            variants.append((f"speed{speed:g}", x))
        if args.snr > 0:
            power = np.mean(samples**2) or 1e-12
            noise = rng.normal(0.0, np.sqrt(power / 10 ** (args.snr / 10)), len(samples))
            variants.append((f"snr{args.snr:g}", samples + noise))
        for tag, x in variants:
            stem = f"{wav.stem}__{tag}"
            write_wav(out / f"{stem}.wav", x, rate)
            shutil.copy(txt, out / f"{stem}.txt")
            count += 1
    print(f"{count} perturbed copies in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
