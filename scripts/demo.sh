#!/usr/bin/env bash
# The main job on the bundled samples: set-up (packages, models, build), then transcribe every
# recording in recordings/ with speakers, draft minutes from the meeting, and file them in the
# archive. Prints where everything went.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BIN=target/release/gijiroku
OUT=${1:-out}
export GIJIROKU_MODELS=${GIJIROKU_MODELS:-$PWD/models}
export GIJIROKU_DATA=${GIJIROKU_DATA:-$PWD/data}
mkdir -p "$OUT"
echo "==> transcribing recordings/ (Whisper base, VAD, diarization) into $OUT/" >&2
$BIN transcribe --diarize -f json,txt,srt,vtt,rttm --out "$OUT" recordings/*.wav
echo "==> drafting minutes for the meeting sample" >&2
$BIN minutes "$OUT/ami-meeting-excerpt.json" --meta examples/demo-meeting.toml -f docx,md,txt,html --out "$OUT"
echo "==> filing the meeting in the archive ($GIJIROKU_DATA) and searching it" >&2
$BIN archive list --json | grep -q "AMI corpus excerpt" || $BIN archive add "$OUT/ami-meeting-excerpt.json" --meta examples/demo-meeting.toml
$BIN search "feedback" --limit 3
echo >&2
echo "Outputs:" >&2
ls -1 "$OUT" >&2
