#!/usr/bin/env bash
# Install kgan with its test dependencies and run the test suite.
# This is the README's test command, and exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Fashion-MNIST for the offline tests: Debian's dataset-fashion-mnist package.
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${KGAN_FASHION_MNIST_DIR:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "Fashion-MNIST files are missing: run 'sudo apt-get install dataset-fashion-mnist'" \
         "or set KGAN_FASHION_MNIST_DIR to a folder holding the four IDX .gz files." >&2
  fi
fi

python -m pip install --quiet --disable-pip-version-check -e ".[test]"

export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 KGAN_OFFLINE=1
# Domain classifiers are trained once per run into a fresh cache (a real check, not a stale file).
export KGAN_CACHE="${KGAN_CACHE:-$(mktemp -d)/kgan-cache}"
# Two test processes (pytest-xdist): most tests run small TF graphs or wait on subprocesses,
# so two nearly halve the suite's time on a 2-core machine (about 7 minutes instead of 13).
# KGAN_TEST_WORKERS=N sets the number of processes; 1 runs the tests in this one.
workers="${KGAN_TEST_WORKERS:-2}"
if [ "$workers" = 1 ]; then par=(); else par=(-n "$workers"); fi
exec python -m pytest tests -q -p no:cacheprovider ${par[@]+"${par[@]}"} --durations=15 --timeout=900 "$@"
