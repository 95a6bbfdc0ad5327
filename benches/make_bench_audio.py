#!/usr/bin/env python3
"""Makes the two recordings issue 15 measures speed on, from ../shared/eval (16 kHz mono WAVs):

- asr_en_joined.wav: every asr_en file, in name order, back to back (continuous read speech),
  with asr_en_joined.txt beside it (the references joined) so `bench asr` prints a WER;
- diarization_joined.wav: every diarization file joined (meeting excerpts with pauses).

    python3 benches/make_bench_audio.py [--eval ../shared/eval] [--out bench-audio]

Only the standard library: wave files of one format are joined frame for frame.
"""

import argparse
import pathlib
import wave


def join(files, out: pathlib.Path) -> float:
    frames = 0
    with wave.open(str(out), "wb") as w:
        params = None
        for f in files:
            with wave.open(str(f), "rb") as r:
                p = (r.getnchannels(), r.getsampwidth(), r.getframerate())
                if params is None:
                    params = p
                    w.setnchannels(p[0])
                    w.setsampwidth(p[1])
                    w.setframerate(p[2])
                elif p != params:
                    raise SystemExit(f"{f}: format {p} differs from {params}")
                data = r.readframes(r.getnframes())
                frames += r.getnframes()
                w.writeframes(data)
    return frames / params[2]


def main() -> int:
    here = pathlib.Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--eval", default=str(here.parent.parent / "shared" / "eval"))
    p.add_argument("--out", default="bench-audio")
    a = p.parse_args()
    ev = pathlib.Path(a.eval)
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    en = sorted((ev / "asr_en").glob("*.wav"))
    di = sorted((ev / "diarization").glob("*.wav"))
    if not en or not di:
        raise SystemExit(f"no WAV files under {ev}/asr_en or {ev}/diarization")
    secs = join(en, out / "asr_en_joined.wav")
    refs = [f.with_suffix(".txt").read_text(encoding="utf-8").strip() for f in en]
    (out / "asr_en_joined.txt").write_text(" ".join(refs) + "\n", encoding="utf-8")
    print(f"{out / 'asr_en_joined.wav'}: {len(en)} files, {secs:.1f} s")
    secs = join(di, out / "diarization_joined.wav")
    print(f"{out / 'diarization_joined.wav'}: {len(di)} files, {secs:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
