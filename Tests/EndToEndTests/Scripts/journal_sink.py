#!/usr/bin/env python3
"""A journal of the test's own, for JournalEndToEndTests.

Usage (as root): unshare --mount --propagation private journal_sink.py OUT STDERR PROGRAM [ARG...]

Inside the private mount namespace it mounts a tmpfs on /run, binds a datagram socket at
/run/systemd/journal/socket (where sd_journal_sendv sends), starts PROGRAM with standard error
on the file STDERR and JOURNAL_STREAM set to that file's device:inode (as systemd does for a
service whose stderr is the journal), and appends every datagram PROGRAM sends to OUT as an
8-byte little-endian length and the bytes. Large records arrive as a memfd passed with
SCM_RIGHTS; their contents are recorded instead. Exits with PROGRAM's status once it has exited.
With SINK_NO_SOCKET=1 in the environment nothing listens at the socket path (a journal that is
down), and OUT stays empty.
"""
import array
import os
import socket
import struct
import subprocess
import sys

out_path, stderr_path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
os.makedirs("/run/systemd/journal")
journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
journal.bind("/run/systemd/journal/socket" if os.environ.get("SINK_NO_SOCKET") != "1" else "/run/systemd/journal/elsewhere")
journal.settimeout(0.2)

stderr_file = open(stderr_path, "wb")
info = os.fstat(stderr_file.fileno())
environment = dict(os.environ, JOURNAL_STREAM=f"{info.st_dev}:{info.st_ino}")
program = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr_file, env=environment)

with open(out_path, "wb") as out:
    while True:
        try:
            data, ancillary, _, _ = journal.recvmsg(1 << 20, socket.CMSG_SPACE(16))
        except socket.timeout:
            if program.poll() is not None:
                break
            continue
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                descriptors = array.array("i")
                descriptors.frombytes(payload[: len(payload) // 4 * 4])
                for descriptor in descriptors:
                    os.lseek(descriptor, 0, os.SEEK_SET)
                    data = b"".join(iter(lambda: os.read(descriptor, 1 << 16), b""))
                    os.close(descriptor)
        out.write(struct.pack("<Q", len(data)) + data)
        out.flush()
sys.exit(program.returncode)
