#!/usr/bin/env bash
# Lay out what scripts/gpu_check.sh installs on a GPU machine without network, as git-ignored folders in
# the repository root (run from that root):
#   .gpuw/          facenet-pytorch, openpyxl, et-xmlfile, pytest-qt wheels (small, py3-none-any)
#   .ort1/ .. .ort4/ one piece each (part.aa .. part.ad) of an xz tarball of onnxruntime-gpu's package folders
# and list those folders in the repository's .git/info/exclude (shared by every worktree).
#
#   bash scripts/gpu_pack.sh [WHEEL_DIR] [ORT_TARBALL]      # defaults: /work/gpuwheels /tmp/ort.tar.xz
set -euo pipefail

WHEELS=${1:-/work/gpuwheels}
TARBALL=${2:-/tmp/ort.tar.xz}
ROOT=$(git rev-parse --show-toplevel)
cd "$ROOT"

[ -f "$TARBALL" ] || { echo "gpu_pack: error: no $TARBALL (an xz tarball of onnxruntime/ and its dist-info)" >&2; exit 2; }
rm -rf .gpuw .ort1 .ort2 .ort3 .ort4
mkdir -p .gpuw
for name in facenet_pytorch-2.5.3 openpyxl-3.1.5 et_xmlfile-2.0.0 pytest_qt-4.5.0; do
    found=("$WHEELS"/"$name"-*.whl)
    [ -f "${found[0]}" ] || { echo "gpu_pack: error: no $name wheel in $WHEELS" >&2; exit 2; }
    cp "${found[0]}" .gpuw/
done

# Four pieces of at most 52 MB (part.aa .. part.ad), one per folder, so each can travel on its own.
pieces=$(mktemp -d)
split -b 52M -a 2 "$TARBALL" "$pieces/part."
n=$(find "$pieces" -name 'part.*' | wc -l)
[ "$n" = 4 ] || { echo "gpu_pack: error: $TARBALL split into $n pieces, expected 4" >&2; rm -rf "$pieces"; exit 2; }
i=1
for part in "$pieces"/part.a[a-d]; do
    mkdir -p ".ort$i" && mv "$part" ".ort$i/"
    i=$((i + 1))
done
rmdir "$pieces"

exclude="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$exclude")" && touch "$exclude"
for path in /.gpuw/ /.ort1/ /.ort2/ /.ort3/ /.ort4/; do
    grep -qxF "$path" "$exclude" || echo "$path" >>"$exclude"
done
du -sh .gpuw .ort1 .ort2 .ort3 .ort4
git status --short --ignored .gpuw .ort1 .ort2 .ort3 .ort4
