package pipeline

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"

	fig08 "github.com/unikraft-eurosys21/artifact/experiments/fig_08"
)

// Measurement is what one image is made of: its file size (what Figure 8 plots) and the ELF
// sections behind it, read with debug/elf.
type Measurement struct {
	// FileBytes is the apparent size, `du -b`: the figure's number.
	FileBytes int64 `json:"file_bytes"`
	// Section sizes in bytes. .bss takes no room in the file; .intrstack (the interrupt and
	// trap stacks, 64 KiB aligned) does, which is what quantises FileBytes.
	Text      int64 `json:"text"`
	Rodata    int64 `json:"rodata"`
	Data      int64 `json:"data"`
	Bss       int64 `json:"bss"`
	IntrStack int64 `json:"intrstack"`
	// OtherAlloc sums every other section loaded into memory (init tables, .got, …).
	OtherAlloc int64 `json:"other_alloc"`
	// Layout is the paper's elf-layout.tsv view of the same file.
	Layout fig08.Layout `json:"layout"`
	// Comment is the .comment section (the compiler's identification), if the image kept it.
	Comment string `json:"comment,omitempty"`
}

// Measure reads an image file.
func Measure(path string) (Measurement, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Measurement{}, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return Measurement{}, fmt.Errorf("%s is not an ELF image: %w", path, err)
	}
	defer f.Close()
	m := Measurement{FileBytes: st.Size()}
	m.Layout.Sections = len(f.Sections)
	m.Layout.IntrStackOffset = -1
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			m.Layout.LoadBytes = int64(p.Filesz)
			break
		}
	}
	for _, s := range f.Sections {
		size := int64(s.Size)
		switch s.Name {
		case ".text":
			m.Text = size
		case ".rodata":
			m.Rodata = size
		case ".data":
			m.Data = size
		case ".bss":
			m.Bss = size
		case ".intrstack":
			m.IntrStack = size
			m.Layout.IntrStackOffset = int64(s.Offset)
		case ".comment":
			if b, err := s.Data(); err == nil {
				m.Comment = string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
			}
		default:
			if s.Flags&elf.SHF_ALLOC != 0 {
				m.OtherAlloc += size
			}
		}
	}
	if m.Layout.IntrStackOffset < 0 {
		return m, fmt.Errorf("%s has no .intrstack section: not a Unikraft KVM image of the expected layout", path)
	}
	return m, nil
}
