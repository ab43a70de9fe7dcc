package testguest_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"

	"github.com/unikraft-eurosys21/artifact/internal/boottime/testguest"
)

// Every variant must be bootable both ways: a multiboot v1 header with the a.out kludge in
// the first 8 KiB (QEMU pc) and a Xen PVH entry note in a PT_NOTE segment (QEMU microvm),
// both pointing at the ELF entry point.
func TestVariantsCarryBothBootHeaders(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []testguest.Variant{testguest.Normal, testguest.Hang, testguest.ExitEarly, testguest.HaltAfterMain} {
		t.Run(string(v), func(t *testing.T) {
			path, err := testguest.Build(context.Background(), dir, v)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 {
				t.Errorf("not a 32-bit x86 ELF: %v %v", f.Class, f.Machine)
			}
			var pvh uint32
			for _, p := range f.Progs {
				if p.Type != elf.PT_NOTE {
					continue
				}
				note := make([]byte, p.Filesz)
				p.ReadAt(note, 0)
				// namesz, descsz, type, "Xen\0", desc
				if len(note) >= 20 && binary.LittleEndian.Uint32(note[8:]) == 18 && string(note[12:15]) == "Xen" {
					pvh = binary.LittleEndian.Uint32(note[16:])
				}
			}
			if pvh == 0 || uint64(pvh) != f.Entry {
				t.Errorf("PVH entry %#x, ELF entry %#x", pvh, f.Entry)
			}
			raw, _ := os.ReadFile(path)
			i := bytes.Index(raw[:min(len(raw), 8192)], []byte{0x02, 0xb0, 0xad, 0x1b})
			if i < 0 || i%4 != 0 {
				t.Fatalf("no aligned multiboot header in the first 8 KiB")
			}
			h := func(k int) uint32 { return binary.LittleEndian.Uint32(raw[i+4*k:]) }
			if h(0)+h(1)+h(2) != 0 || h(1)&0x00010000 == 0 || uint64(h(7)) != f.Entry {
				t.Errorf("multiboot header: flags %#x checksum ok %v entry %#x", h(1), h(0)+h(1)+h(2) == 0, h(7))
			}
		})
	}
	if _, err := testguest.Build(context.Background(), dir, "fly"); err == nil {
		t.Error("unknown variant accepted")
	}
}

func TestBuildReusesAKernel(t *testing.T) {
	dir := t.TempDir()
	a, err := testguest.Build(context.Background(), dir, testguest.Normal)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(a)
	b, err := testguest.Build(context.Background(), dir, testguest.Normal)
	if err != nil || a != b {
		t.Fatalf("%s vs %s, %v", a, b, err)
	}
	st2, _ := os.Stat(b)
	if !st.ModTime().Equal(st2.ModTime()) {
		t.Error("the kernel was rebuilt")
	}
}
