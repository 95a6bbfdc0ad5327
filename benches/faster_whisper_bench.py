#!/usr/bin/env python3
"""One faster-whisper transcription, measured; the reference side of `gijiroku bench asr`.

Loads a local CTranslate2 Whisper folder (never a hub name: nothing is downloaded), transcribes
one file and prints one JSON line on stdout with the same fields gijiroku's measuring child
prints: wall seconds (model load + decode + transcription), CPU seconds, peak RSS, text.
Exit code 3 with {"error": ...} when faster-whisper is not installed.

    python3 benches/faster_whisper_bench.py --model-dir DIR --audio FILE [--threads 2] [--beam 5]
        [--language ja] [--vad] [--words] [--compute-type int8]
"""

import argparse
import json
import os
import resource
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", required=True, help="CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json)")
    p.add_argument("--audio", required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--language", default=None, help="ja, en, ...; omitted: detect")
    p.add_argument("--vad", action="store_true", help="faster-whisper's own Silero VAD filter")
    p.add_argument("--words", action="store_true", help="word timestamps (gijiroku always makes them)")
    p.add_argument("--compute-type", default="int8", help="int8, float32, ... (CTranslate2 compute type)")
    a = p.parse_args()

    # Belt and braces: a local folder never touches the hub, and this makes sure of it.
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from faster_whisper import WhisperModel
    except ImportError as e:
        print(json.dumps({"error": f"faster-whisper is not installed for {sys.executable}: {e}"}))
        return 3

    t0 = time.perf_counter()
    model = WhisperModel(
        a.model_dir,
        device="cpu",
        compute_type=a.compute_type,
        cpu_threads=a.threads,
        num_workers=1,
        local_files_only=True,
    )
    load = time.perf_counter() - t0
    segments, info = model.transcribe(
        a.audio,
        language=a.language,
        beam_size=a.beam,
        vad_filter=a.vad,
        word_timestamps=a.words,
    )
    texts = [s.text.strip() for s in segments]  # the generator does the work
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    joiner = "" if info.language in ("ja", "zh", "yue", "th", "lo", "my", "km", "bo") else " "
    print(
        json.dumps(
            {
                "engine": "faster-whisper",
                "audio_seconds": info.duration,
                "load_seconds": load,
                "wall_seconds": wall,
                "user_seconds": ru.ru_utime,
                "sys_seconds": ru.ru_stime,
                "peak_rss_bytes": ru.ru_maxrss * 1024,  # Linux reports KiB
                "language": info.language,
                "segments": len(texts),
                "text": joiner.join(t for t in texts if t),
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
