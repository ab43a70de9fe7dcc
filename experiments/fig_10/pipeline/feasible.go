package pipeline

import (
	"context"
	"fmt"
	"strings"

	fig10 "github.com/unikraft-eurosys21/artifact/experiments/fig_10"
	"github.com/unikraft-eurosys21/artifact/internal/sources"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// Feasibility: before anything is fetched or built, each series is checked for what it needs
// of the host (KVM, permission to create a tap device, the VMM binary). A series that
// cannot run here is reported not run with the reason and what to do; nothing is prepared
// for it, so a source only it needs cannot stop the others.

// Binaries are the settings that replace a VMM binary ("" keeps the default: QEMU on PATH,
// the prepared solo5-hvt and firecracker).
type Binaries struct {
	QEMU        string // QEMU
	Solo5HVT    string // SOLO5_HVT
	Firecracker string // FIRECRACKER
}

// hostNeeds says why VMM v cannot run on this host under accel, and what to do ("" when
// nothing is missing). It checks what prepare cannot provide; the binaries prepare builds
// or extracts (solo5-hvt, firecracker) are checked by the run step.
func hostNeeds(ctx context.Context, v fig10.VMM, accel string, bin Binaries) string {
	switch v.Key {
	case fig10.Solo5, fig10.Firecracker:
		name := map[string]string{fig10.Solo5: "Solo5 hvt", fig10.Firecracker: "Firecracker"}[v.Key]
		if accel != vmm.KVM {
			return fmt.Sprintf("needs KVM: %s has no software emulation (ACCEL=%s); run with ACCEL=kvm on a host with a usable /dev/kvm", name, accel)
		}
		env := map[string]string{fig10.Solo5: "SOLO5_HVT", fig10.Firecracker: "FIRECRACKER"}[v.Key]
		if bin := map[string]string{fig10.Solo5: bin.Solo5HVT, fig10.Firecracker: bin.Firecracker}[v.Key]; bin != "" {
			if why := runnable(ctx, bin, map[string]string{fig10.Solo5: "--help", fig10.Firecracker: "--version"}[v.Key]); why != "" {
				return fmt.Sprintf("%s=%s: %s; unset %s to use the prepared binary, or point it at a working one", env, bin, why, env)
			}
		}
		return ""
	}
	if _, err := vmm.QEMUBinary(bin.QEMU); err != nil {
		return err.Error()
	}
	if v.Key == fig10.QEMU1NIC {
		// Creating the tap device needs CAP_NET_ADMIN: try once.
		t, err := vmm.CreateTap(vmm.NewTapName())
		if err != nil {
			return err.Error() + " (QEMU (1NIC) needs a tap device: run as root or with CAP_NET_ADMIN)"
		}
		if err := t.Close(); err != nil {
			return "the trial tap device could not be removed: " + err.Error()
		}
	}
	return ""
}

// sourcesReason is why a guest cannot be prepared: the problems of the sources it needs,
// each with where it belongs, and what to do.
func sourcesReason(fe *sources.FetchError, need []string) string {
	var parts []string
	for _, n := range need {
		p, ok := fe.Problem(n)
		if !ok {
			continue
		}
		s := fmt.Sprintf("%s (%s, %s", p.Name, p.URL, p.Pin)
		if p.MirrorPath != "" {
			s += ", a mirror holds it at " + p.MirrorPath
		}
		parts = append(parts, s+")")
	}
	if len(parts) == 0 {
		return ""
	}
	from := "upstream"
	if fe.Mirror != "" {
		from = "the mirror " + fe.Mirror
	}
	return fmt.Sprintf("source(s) missing from %s: %s; add them there, or leave this VMM out of VMMS", from, strings.Join(parts, "; "))
}
