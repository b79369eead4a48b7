#!/bin/sh
# The flags of a release build, for `swift build` (the Makefile's RELEASE, bench/run.sh), printed
# on one line: `--static-swift-stdlib`, the Swift runtime and Foundation linked in rather than about
# twenty shared libraries loaded at every start.
#
# It also puts a link to libstdc++'s archive, where one is installed (libstdc++-dev), in
# .build/static-libstdc++/, which jobctl's release link searches first (Package.swift): swiftc
# always asks the linker for -lstdc++, and in a directory holding nothing but libstdc++.a the
# archive is what the linker finds. Loading and relocating the shared libstdc++ was about 0.9 ms of
# every jobctl start (bench/notes/keeper.md). Without the archive, jobctl links the shared library.
set -eu
cd "$(dirname "$0")/.."
archive=$(c++ -print-file-name=libstdc++.a 2>/dev/null || clang -print-file-name=libstdc++.a 2>/dev/null || true)
case "$archive" in
/*)
    if [ -f "$archive" ]; then
        mkdir -p .build/static-libstdc++
        ln -sfn "$archive" .build/static-libstdc++/libstdc++.a
    fi
    ;;
esac
echo "-c release --static-swift-stdlib"
