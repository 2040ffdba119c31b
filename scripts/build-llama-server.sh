#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the llama.cpp sources vendored in the installed
# llama-cpp-python's own source distribution, so the server runs the very llama.cpp our
# in-process engine runs (same GGUF support, MIT licence), with nothing fetched but PyPI.
#
# usage: scripts/build-llama-server.sh VENV
#   VENV   the project's virtual environment; the binary lands in VENV/bin/llama-server
# env:  LLAMA_SERVER_CMAKE_ARGS  extra cmake flags (a GPU build: -DGGML_CUDA=on)
#       CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default: every core)
set -euo pipefail

venv=${1:?usage: build-llama-server.sh VENV}
py="$venv/bin/python"
out="$venv/bin/llama-server"
version=$("$py" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')
cache="${XDG_CACHE_HOME:-$HOME/.cache}/writersroom/llama-server-$version${LLAMA_SERVER_CMAKE_ARGS:+-custom}"

if [[ -x "$cache/llama-server" && -z "${LLAMA_SERVER_CMAKE_ARGS:-}" ]]; then
    echo "llama-server $version: using the build cached in $cache"
    install -m 755 "$cache/llama-server" "$out"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "llama-server $version: fetching llama-cpp-python's source distribution from PyPI"
"$py" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work"
tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)

echo "llama-server $version: building (about 10 minutes on 2 cores; progress follows)"
# Static libraries so the one binary can be copied anywhere; no web UI download, no curl,
# no TLS: the server is reached on loopback or behind the studio's own proxy.
# shellcheck disable=SC2086
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    ${LLAMA_SERVER_CMAKE_ARGS:-} > "$work/cmake.log" || { cat "$work/cmake.log" >&2; exit 1; }
# The full output goes to a log, shown when the build fails (whichever generator cmake
# uses); the terminal gets the percentage as it changes.
progress() {
    awk '/^\[ *[0-9]+%\]/ { pct = $0; sub(/%\].*/, "%", pct); sub(/^\[ */, "", pct); if (pct != last) { print "  llama-server build " pct; fflush(); last = pct } }'
}
if ! cmake --build "$work/build" --target llama-server -j "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    2>&1 | tee "$work/build.log" | progress || [[ ! -x "$work/build/bin/llama-server" ]]; then
    tail -n 60 "$work/build.log" >&2
    echo "llama-server $version: the build failed (the lines above say why)" >&2
    exit 1
fi
mkdir -p "$cache"
install -m 755 "$work/build/bin/llama-server" "$cache/llama-server"
install -m 755 "$cache/llama-server" "$out"
echo "llama-server $version: built into $out"
