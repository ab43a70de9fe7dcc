# FIXTURE stand-in for Unikraft's support/scripts/uk-gdb.py, written for the gdbtrace tests:
# NOT Unikraft's script. It defines the same gdb commands (`uk`, `uk trace`) and takes the same
# paths the real one does: the tracepoint definitions are read from gdb's file (the .dbg) with
# objcopy and its format version with readelf, the buffer from the guest's memory through gdb,
# and every record is printed as Unikraft prints it: "%016d <tracepoint>: " + the tracepoint's
# format, %p rendered as 0x%016x. The binary layouts are those of fixture-guest.c.
import re
import struct
import subprocess
import tempfile

import gdb


def definitions(elf):
    with tempfile.NamedTemporaryFile() as f:
        subprocess.check_call(["objcopy", "-O", "binary", elf,
                               "--only-section=.uk_tracepoints_list", f.name])
        data = f.read()
    defs = {}
    for off in range(0, len(data) - 95, 96):
        magic, nargs, cookie, name, fmt = struct.unpack_from("<4sIQ48s16s", data, off)
        if magic != b"TPde":
            raise gdb.GdbError("FIXTURE uk trace: bad tracepoint definition at %d" % off)
        defs[cookie] = (name.split(b"\0")[0].decode(), nargs,
                        fmt.split(b"\0")[0].decode().replace("%p", "0x%016x"))
    return defs


def format_version(elf):
    out = subprocess.check_output(["readelf", "-p", ".uk_trace_keyvals", elf]).decode()
    m = re.search(r"format_version = (\d+)", out)
    if not m:
        raise gdb.GdbError("FIXTURE uk trace: no format_version in .uk_trace_keyvals")
    return int(m.group(1))


class Uk(gdb.Command):
    def __init__(self):
        super().__init__("uk", gdb.COMMAND_USER, gdb.COMPLETE_COMMAND, True)


class UkTrace(gdb.Command):
    def __init__(self):
        super().__init__("uk trace", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        elf = gdb.current_progspace().filename
        format_version(elf)
        defs = definitions(elf)
        buf = gdb.parse_and_eval("uk_trace_buffer")
        start = int(buf.address)
        writep = int(gdb.parse_and_eval("uk_trace_buffer_writep"))
        used = writep - start if writep else 0
        data = bytes(gdb.selected_inferior().read_memory(start, used))
        pos = 0
        while pos + 24 <= len(data):
            magic, size, time, cookie = struct.unpack_from("<4sIQQ", data, pos)
            if magic != b"TRhd":
                break
            name, nargs, fmt = defs[cookie]
            args = struct.unpack_from("<%dQ" % nargs, data, pos + 24)
            pos += 24 + size
            print(("%016d %s: " % (time, name)) + (fmt % args))


Uk()
UkTrace()
