#!/usr/bin/env bash
# Fetches the full ICT-FaceKit model (MIT, USC ICT) and builds the facerecon pack from it:
#   bash infra/scripts/fetch-ict.sh [out-dir]          (default: models/build/ict)
# Used at image build (infra/Dockerfile) so deployments serve model=ict; nothing of ICT is committed
# to this repository. Only FaceXModel/ is checked out (sparse, blobs on demand), at a pinned commit.
#   ICT_REPO  git URL   (default https://github.com/ICT-VGL/ICT-FaceKit.git)
#   ICT_REF   commit    (default da5f95a, the commit the team's test subset comes from)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/models/build/ict}"
REPO="${ICT_REPO:-https://github.com/ICT-VGL/ICT-FaceKit.git}"
REF="${ICT_REF:-da5f95a}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

git clone --quiet --filter=blob:none --no-checkout "$REPO" "$WORK/ict"
git -C "$WORK/ict" sparse-checkout set --no-cone /FaceXModel/ /LICENSE
git -C "$WORK/ict" checkout --quiet "$REF"
MODEL="$WORK/ict/FaceXModel"
[ -f "$MODEL/generic_neutral_mesh.obj" ] || { echo "fetch-ict: $REPO@$REF has no FaceXModel/generic_neutral_mesh.obj" >&2; exit 1; }
# The converter keeps the licence next to the derived files; the repository keeps it at its root.
[ -f "$MODEL/LICENSE" ] || cp "$WORK/ict/LICENSE" "$MODEL/LICENSE"
cd "$ROOT"
npx tsx models/scripts/build-ict.ts "$MODEL" --out "$OUT"
