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
# The archive's first account (an administrator) for the web app; change its password with
# `gijiroku users passwd admin`. Every command below acts as it.
export GIJIROKU_USER=${GIJIROKU_USER:-admin}
export GIJIROKU_PASSWORD=${GIJIROKU_PASSWORD:-${GIJIROKU_DEMO_PASSWORD:-gijiroku-demo}}
if ! $BIN --quiet users list >/dev/null 2>&1; then
  echo "==> creating the administrator account '$GIJIROKU_USER' in $GIJIROKU_DATA" >&2
  printf '%s\n' "$GIJIROKU_PASSWORD" | env -u GIJIROKU_USER -u GIJIROKU_PASSWORD $BIN users add "$GIJIROKU_USER" --role admin --password-stdin >&2
fi
echo "==> transcribing recordings/ (Whisper base, VAD, diarization) into $OUT/" >&2
$BIN transcribe --diarize -f json,txt,srt,vtt,rttm --out "$OUT" recordings/*.wav
echo "==> drafting minutes for the meeting sample" >&2
$BIN minutes "$OUT/ami-meeting-excerpt.json" --meta examples/demo-meeting.toml -f docx,md,txt,html --out "$OUT"
echo "==> filing the meeting in the archive ($GIJIROKU_DATA) and searching it" >&2
$BIN archive list --json | grep -q "AMI corpus excerpt" || $BIN archive add "$OUT/ami-meeting-excerpt.json" --meta examples/demo-meeting.toml --audio recordings/ami-meeting-excerpt.wav
$BIN search "feedback" --limit 3
echo >&2
echo "Outputs:" >&2
ls -1 "$OUT" >&2
ID=$($BIN archive list --json | python3 -c 'import json,sys; print(next(m["id"] for m in json.load(sys.stdin) if "AMI corpus excerpt" in m["title"]))')
ADDR=${GIJIROKU_ADDR:-127.0.0.1:8080}
echo >&2
echo "==> the web app: http://$ADDR/meetings/$ID  (sign in as $GIJIROKU_USER / $GIJIROKU_PASSWORD)" >&2
if [ -t 0 ] && [ -z "${GIJIROKU_NO_SERVE:-}" ]; then
  echo "    serving until Ctrl-C" >&2
  exec $BIN serve --addr "$ADDR"
else
  echo "    start it with: target/release/gijiroku --data $GIJIROKU_DATA serve --addr $ADDR" >&2
fi
