#!/bin/sh
# make check without clang's libFuzzer runtime: a skip, said as such (never a pass).
echo "SKIP: fuzz: clang's libFuzzer runtime is missing (tools/deps.sh installs clang libclang-rt-14-dev); re-run configure"
exit 77
