#!/usr/bin/env bash
# Fetches the full ICT-FaceKit model (MIT, USC ICT) and builds the facerecon pack from it:
#   bash infra/scripts/fetch-ict.sh [out-dir]          (default: models/build/ict)
# Used at image build (infra/Dockerfile) so deployments serve model=ict; nothing of ICT is committed
# to this repository. Only FaceXModel/ is checked out (sparse, blobs on demand), at a pinned commit.
#   ICT_REPO  git URL   (default https://github.com/ICT-VGL/ICT-FaceKit.git)
#   ICT_REF   commit    (default da5f95a, the commit the team's test subset comes from)
#   ICT_SHA256 file     (default infra/ict-facekit.sha256) the SHA-256 of every file the build reads at
#                       that commit (`sha256sum -c` form, written by infra/scripts/hash-ict.ts): the checkout
#                       must match it file for file, and FaceXModel/ may hold nothing it does not list, so
#                       a short ref that names another commit, or a tampered host, fails the build here.
#                       Pin another ref only with its own list.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/models/build/ict}"
REPO="${ICT_REPO:-https://github.com/ICT-VGL/ICT-FaceKit.git}"
REF="${ICT_REF:-da5f95a}"
SUMS="$(realpath "${ICT_SHA256:-$ROOT/infra/ict-facekit.sha256}")"
[ -s "$SUMS" ] || { echo "fetch-ict: no checksum list at $SUMS" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

git clone --quiet --filter=blob:none --no-checkout "$REPO" "$WORK/ict"
git -C "$WORK/ict" sparse-checkout set --no-cone /FaceXModel/ /LICENSE
git -C "$WORK/ict" checkout --quiet "$REF"
MODEL="$WORK/ict/FaceXModel"
[ -f "$MODEL/generic_neutral_mesh.obj" ] || { echo "fetch-ict: $REPO@$REF has no FaceXModel/generic_neutral_mesh.obj" >&2; exit 1; }
if ! (cd "$WORK/ict" && sha256sum --check --strict --quiet "$SUMS" >&2); then
  echo "fetch-ict: $REPO@$REF does not match $SUMS (the files above differ or are missing)" >&2
  exit 1
fi
for f in "$MODEL"/*; do
  awk -v f="FaceXModel/$(basename "$f")" '$2 == f { found = 1 } END { exit !found }' "$SUMS" || { echo "fetch-ict: $REPO@$REF has FaceXModel/$(basename "$f"), which $SUMS does not list" >&2; exit 1; }
done
echo "fetch-ict: $REPO@$(git -C "$WORK/ict" rev-parse HEAD): $(wc -l < "$SUMS") files match $SUMS" >&2
# The converter keeps the licence next to the derived files; the repository keeps it at its root.
[ -f "$MODEL/LICENSE" ] || cp "$WORK/ict/LICENSE" "$MODEL/LICENSE"
cd "$ROOT"
npx tsx models/scripts/build-ict.ts "$MODEL" --out "$OUT"
