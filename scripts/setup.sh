#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine (README): system packages, then the npm dependencies.
# - dcmtk, libgdcm-tools, openjph-tools, python3-pydicom: DICOM fixtures (HTJ2K from ojph_compress) and real test files (tests, bench)
# - python3-venv: the reference environment (.venv, created on demand by scripts/setup-python.mjs)
# - chromium, libkrb5-dev, ripgrep: the real VS Code host (code-server, installed on demand) and its browser
# Nothing here downloads outside the package registries; onnxruntime-node's CUDA download is denied in
# package.json "allowScripts" (the CPU provider is bundled).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(dcmtk libgdcm-tools openjph-tools python3-pydicom python3-venv chromium libkrb5-dev ripgrep)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "[setup] installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "[setup] npm ci"
npm ci --no-audit --no-fund
