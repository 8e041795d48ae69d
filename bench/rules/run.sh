#!/bin/sh
# Rule-engine benchmark: throughput (release build) and heap allocations per reading in the steady
# state (valgrind, two run lengths: the difference in allocations divided by the extra readings).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
swift build -c release >/dev/null
bin="$here/.build/release/RulesBench"
"$bin" --rules "$root/Rules" --rounds "${ROUNDS:-300}"
allocs() {
    valgrind --tool=memcheck --leak-check=no "$bin" --rules "$root/Rules" --rounds "$1" 2>&1 >/dev/null \
        | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,
}
a=$(allocs 2); b=$(allocs 12)
# Each extra round is 10,000 fast-path + 2,000 Reading-path readings (the Reading path runs rounds/5).
extra=$(( (12 - 2) * 10000 + (12 / 5 - 2 / 5) * 10000 ))
echo "valgrind: $a allocs at 2 rounds, $b at 12 rounds → $(( b - a )) allocations over $extra extra readings"
