package unikraft

import (
	"context"
	"fmt"
)

// Differ gives patch texts from the history of a pinned git source (sources.Set does).
type Differ interface {
	Diff(ctx context.Context, source, from, to string, paths ...string) ([]byte, error)
	Parent(ctx context.Context, source, commit string) (string, error)
}

// StaticIRQs is the statically-alloc-irqs change the paper applied to Unikraft 7fd6797
// (patchwork 737745, a host that may no longer answer), rebuilt from its merged form in the
// pinned history: unikraft commit merged ("plat/kvm: do not allocate IRQ handler entries
// dynamically", 300c57e5, RELEASE-0.10.0) does not apply to base (7fd6797) as it is, so
//
//  1. the diff of plat/kvm/irq.c between base and merged's parent is applied first (an
//     include of <uk/plat/time.h> and the timer-IRQ test written with ukplat_time_get_irq()),
//  2. then merged itself (plat/kvm/Config.uk lands a few lines off, irq.c cleanly), which
//     declares KVM_MAX_IRQ_HANDLER_ENTRIES and allocates the table statically,
//  3. and the call ukplat_time_get_irq(), which base does not have, becomes 0: the timer IRQ
//     base hard-codes.
//
// source is the pinned git source holding both commits (one repository). Each step fails
// the build loudly when its text is not there. fig10's QEMU guests use it, fig14 needs it.
func StaticIRQs(ctx context.Context, d Differ, source, base, merged string) ([]Step, error) {
	parent, err := d.Parent(ctx, source, merged)
	if err != nil {
		return nil, fmt.Errorf("statically-alloc-irqs: %w", err)
	}
	pre, err := d.Diff(ctx, source, base, parent, "plat/kvm/irq.c")
	if err != nil {
		return nil, fmt.Errorf("statically-alloc-irqs: %w", err)
	}
	change, err := d.Diff(ctx, source, parent, merged)
	if err != nil {
		return nil, fmt.Errorf("statically-alloc-irqs: %w", err)
	}
	const why = "statically-alloc-irqs (patchwork 737745), from its merged form"
	return []Step{
		PatchStep(TreeCore, GitApply, fmt.Sprintf("%s: diff of plat/kvm/irq.c %s..%s", source, short(base), short(parent)), pre,
			why+": the context commit "+short(merged)+" expects"),
		PatchStep(TreeCore, GitApply, fmt.Sprintf("%s: commit %s", source, short(merged)), change, why),
		{Tree: TreeCore, Kind: Replace, Name: "statically-alloc-irqs: timer IRQ", File: "plat/kvm/irq.c",
			Old: "ukplat_time_get_irq()", New: "0", Why: why + ": " + short(base) + " has no ukplat_time_get_irq(); its timer IRQ is 0"},
	}, nil
}

func short(c string) string { return c[:min(len(c), 12)] }
