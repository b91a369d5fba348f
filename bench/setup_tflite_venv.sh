#!/bin/sh
# A second venv with tflite-runtime instead of ai-edge-litert, for bench/runtime_compare.sh.
# tflite-runtime wheels are built against numpy 1.x, hence numpy<2; the package itself is
# installed --no-deps so pip does not pull ai-edge-litert (and numpy 2) back in.
set -eu
cd "$(dirname "$0")/.."
VENV=.venv-tflite
test -x "$VENV/bin/python" || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c "import tflite_runtime, cv2, pydantic" 2>/dev/null; then
    "$VENV/bin/pip" install -q 'numpy<2' tflite-runtime opencv-python-headless pydantic gpiozero
fi
"$VENV/bin/pip" install -q --no-deps -e .
"$VENV/bin/python" -c "import tflite_runtime, numpy; print('tflite-runtime', tflite_runtime.__version__, 'numpy', numpy.__version__)"
