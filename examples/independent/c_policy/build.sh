#!/bin/sh
# Builds the C policy IUTs next to their sources (c_policy/policy, c_policy/policy_bug_*).
set -e
cd "$(dirname "$0")"
for src in *.c; do
  gcc -std=c99 -O2 -Wall -Wextra -o "${src%.c}" "$src"
done
