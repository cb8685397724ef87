#!/usr/bin/env bash
# Fetches the project's own test photos from Debian's python3-skimage package (public-domain sample
# images) into .cache/fixtures/. Runs before tests, benchmarks and the demo; a no-op once fetched.
#   astronaut.png  one frontal face (NASA portrait of Eileen Collins)
#   coffee.png     a cup of coffee: no face
#   chelsea.png    a cat: no human face
#   cell.png, horse.png, microaneurysms.png, hubble_deep_field.jpg   more images without a face that
#                  the face detector nonetheless scores >= 0.5: they keep the profile rule honest
#   astronaut.heic, astronaut.avif   the portrait as a phone saves it (HEVC and AV1 in HEIF), made with
#                  Debian's libheif-examples (heif-enc), installed here when missing
#   astronaut-grid.heic, astronaut-rot.heic   grid-tiled as iPhones write them (with a 320 px thumbnail),
#                  the second with irot (scripts/heic-fixtures.ts), and astronaut-frame.png, the picture both show;
#   astronaut-wide.heic (+ -wide-badthumb.heic, its thumbnail of another picture) a small face in a wide
#                  frame, for decoding only the tiles around the face
# and, from the npm registry, @tensorflow-models/facemesh's UV table (dist/uv_coords.js, Apache-2.0)
# as an independent copy of the face mesh UVs for a cross-check test. It is fetched with `npm pack`
# rather than installed because its peer dependencies pin tfjs 2.x.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/fixtures
mkdir -p "$dest"
if [[ ! -s $dest/tfjs-facemesh-uv_coords.js ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @tensorflow-models/facemesh@0.0.5 >/dev/null 2>&1 && tar -xzf tensorflow-models-facemesh-0.0.5.tgz package/dist/uv_coords.js)
  cp "$tmp/package/dist/uv_coords.js" "$dest/tfjs-facemesh-uv_coords.js"
  rm -rf "$tmp"
  echo "fixtures: tfjs-facemesh-uv_coords.js from @tensorflow-models/facemesh@0.0.5"
fi
want=(astronaut.png coffee.png chelsea.png cell.png horse.png microaneurysms.png hubble_deep_field.jpg)
have=1
for f in "${want[@]}"; do [[ -s "$dest/$f" ]] || have=0; done
phone_fixtures() {
  [[ -s $dest/astronaut.heic && -s $dest/astronaut.avif && -s $dest/astronaut-rot.heic && -s $dest/astronaut-wide.heic ]] && return 0
  if ! command -v heif-enc >/dev/null 2>&1; then
    local sudo_=""
    [[ $(id -u) == 0 ]] || sudo_="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq libheif-examples >/dev/null 2>&1 || { $sudo_ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq libheif-examples >/dev/null; }
  fi
  heif-enc -q 80 -o "$dest/astronaut.heic" "$dest/astronaut.png" >/dev/null 2>&1
  heif-enc -A -q 80 -o "$dest/astronaut.avif" "$dest/astronaut.png" >/dev/null 2>&1
  echo "fixtures: astronaut.heic astronaut.avif (heif-enc from libheif-examples)"
  npx tsx scripts/heic-fixtures.ts
}
if [[ $have == 1 ]]; then
  phone_fixtures
  exit 0
fi

mkdir -p "$dest" .cache/deb
cd .cache/deb
if ! ls python3-skimage_*.deb >/dev/null 2>&1; then
  if ! apt-get download python3-skimage >/dev/null 2>&1; then
    # A fresh container may have empty package lists.
    if [[ $(id -u) == 0 ]]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
    apt-get download python3-skimage >/dev/null
  fi
fi
deb=$(ls python3-skimage_*.deb | head -1)
patterns=()
for f in "${want[@]}"; do patterns+=("*/skimage/data/$f"); done
dpkg-deb --fsys-tarfile "$deb" | tar -x --wildcards "${patterns[@]}"
for f in "${want[@]}"; do cp "$(find . -path "*/skimage/data/$f" | head -1)" "../../$dest/$f"; done
echo "fixtures: ${want[*]} from $deb"
cd ../..
phone_fixtures
