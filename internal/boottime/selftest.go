package boottime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/unikraft-eurosys21/artifact/internal/boottime/testguest"
	"github.com/unikraft-eurosys21/artifact/internal/host"
	"github.com/unikraft-eurosys21/artifact/internal/rep"
	"github.com/unikraft-eurosys21/artifact/internal/stats"
	"github.com/unikraft-eurosys21/artifact/internal/vmm"
)

// SelftestOptions configure Selftest. NewSelftestOptions gives the defaults.
type SelftestOptions struct {
	// Plan sets repetitions (26 as in the paper), warm-ups, the per-boot timeout and the
	// raw log directory (a new temporary directory, kept, when empty). Series is set here.
	Plan    rep.Plan
	Accel   string // "kvm" or "tcg"
	Machine string // "microvm" or "pc"
	CPU     string // QEMU -cpu (the QEMU_CPU setting); empty: the paper's model
	QEMU    string // QEMU binary (the QEMU setting); empty: qemu-system-x86_64 on PATH
	CPUs    []int  // host CPUs QEMU is pinned to; nil: not pinned
	// Ftrace and Debugcon select the observers; both may watch the same boots.
	Ftrace   bool
	Debugcon bool
	Tracefs  string // tracefs mount point; empty: DefaultTracefs, mounted when needed
	GuestDir string // where the test guest is built; empty: a temporary directory
	Log      logrus.FieldLogger
}

// NewSelftestOptions are the self-test's defaults under accel: 26 boots (as the paper's
// loop), 1 warm-up, 30 s per boot, QEMU microvm, and the observers named (the OBSERVERS
// setting, parsed by package settings), or when none are: both as root under KVM, to see
// how far they agree, else the debug console.
func NewSelftestOptions(accel string, observers []string) SelftestOptions {
	o := SelftestOptions{Machine: "microvm", Accel: accel, Plan: rep.Plan{Reps: 26, Warmup: 1, Timeout: 30 * time.Second}}
	if len(observers) == 0 {
		observers = []string{"debugcon"}
		if os.Geteuid() == 0 && accel == vmm.KVM {
			observers = []string{"ftrace", "debugcon"}
		}
	}
	o.Ftrace, o.Debugcon = slices.Contains(observers, "ftrace"), slices.Contains(observers, "debugcon")
	return o
}

// SelftestReport is the outcome of Selftest: per-phase statistics per observer, how far
// the observers agree, and what the harness costs.
type SelftestReport struct {
	Accel     string   `json:"accel"`
	Machine   string   `json:"machine"`
	CPUModel  string   `json:"cpu_model"`
	QEMU      string   `json:"qemu"`
	CPUs      []int    `json:"cpus,omitempty"`
	Observers []string `json:"observers"`
	RawDir    string   `json:"raw_dir"`
	// Boots are the repetitions; failed ones keep their error and raw logs.
	Boots rep.Result[Boot] `json:"boots"`
	// Stats are per observer and phase (µs), over the successful boots.
	Stats map[string]map[string]stats.Summary `json:"stats"`
	// Agreement is debugcon minus ftrace per phase (µs) over boots both observed.
	Agreement map[string]stats.Summary `json:"agreement,omitempty"`
	// Overhead is the loop's wall time divided by the sum of the VMM lifetimes: what the
	// harness adds around the VMs (process start, trace reading, raw logs).
	Overhead     float64       `json:"overhead"`
	LoopWall     time.Duration `json:"loop_wall_ns"`
	VMMLifetimes time.Duration `json:"vmm_lifetimes_ns"`
}

// Selftest boots the test guest Plan.Reps times on QEMU and summarises the boot phases.
// With KVM requested and unusable it stops before the first boot and says why. Failed
// boots are counted in the report; the error is non-nil when any failed.
func Selftest(ctx context.Context, o SelftestOptions) (*SelftestReport, error) {
	if err := host.CheckAccel(o.Accel); err != nil {
		return nil, err
	}
	if !o.Ftrace && !o.Debugcon {
		return nil, errors.New("self-test: no observer selected (OBSERVERS=ftrace,debugcon)")
	}
	if o.Ftrace && o.Accel == vmm.TCG {
		return nil, errors.New("self-test: the ftrace observer sees KVM events only; with ACCEL=tcg use OBSERVERS=debugcon")
	}
	guestDir := o.GuestDir
	if guestDir == "" {
		d, err := os.MkdirTemp("", "boottime-guest-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		guestDir = d
	}
	kernel, err := testguest.Build(ctx, guestDir, testguest.Normal)
	if err != nil {
		return nil, err
	}
	q := vmm.QEMU{Binary: o.QEMU, Machine: or(o.Machine, "microvm"), Accel: o.Accel, CPU: o.CPU, MemoryMiB: 2,
		Kernel: kernel, DebugExit: true, CPUs: o.CPUs}
	version, err := vmm.QEMUVersion(ctx, o.QEMU)
	if err != nil {
		return nil, err
	}
	plan := o.Plan
	plan.Series = "testguest-qemu-" + q.Machine
	plan.Log = o.Log
	if plan.RawDir == "" {
		if plan.RawDir, err = os.MkdirTemp("", "boottime-selftest-"); err != nil {
			return nil, err
		}
	}
	var obs Observers
	obs.Debugcon = o.Debugcon
	if o.Ftrace {
		ft, err := OpenFtrace(FtraceOptions{Tracefs: o.Tracefs}, QEMUMarkers)
		if err != nil {
			return nil, err
		}
		defer ft.Close()
		obs.Ftrace = ft
	}
	r := &SelftestReport{Accel: o.Accel, Machine: q.Machine, CPUModel: q.CPUModel(), QEMU: version, CPUs: o.CPUs,
		Observers: obs.Names(), RawDir: plan.RawDir}
	res, runErr := rep.Run(ctx, plan, func(ctx context.Context, rp rep.Rep) (Boot, error) {
		b, err := Run(ctx, q, obs, Options{Accel: o.Accel, Raw: rp.Raw, Timeout: plan.Timeout})
		if rp.Raw != "" {
			err = errors.Join(err, b.WriteJSON(rp.Raw))
		}
		return b, err
	})
	r.Boots = res
	r.summarize()
	if runErr != nil {
		return r, runErr
	}
	if obs.Ftrace != nil {
		if err := obs.Ftrace.Close(); err != nil {
			return r, err
		}
	}
	return r, res.Err()
}

func (r *SelftestReport) summarize() {
	per := map[string]map[string][]float64{}
	var diffs map[string][]float64
	for _, b := range r.Boots.Values() {
		for _, s := range b.Samples {
			if per[s.Observer] == nil {
				per[s.Observer] = map[string][]float64{}
			}
			for _, ph := range Phases {
				if v, ok := s.Phase(ph); ok {
					per[s.Observer][ph] = append(per[s.Observer][ph], v)
				}
			}
		}
		ft, ok1 := b.Sample("ftrace")
		dc, ok2 := b.Sample("debugcon")
		if ok1 && ok2 {
			if diffs == nil {
				diffs = map[string][]float64{}
			}
			for _, ph := range []string{"vmm_us", "guest_us", "total_us"} {
				a, okA := dc.Phase(ph)
				f, okF := ft.Phase(ph)
				if okA && okF {
					diffs[ph] = append(diffs[ph], a-f)
				}
			}
		}
	}
	r.Stats = map[string]map[string]stats.Summary{}
	for obs, phases := range per {
		r.Stats[obs] = map[string]stats.Summary{}
		for ph, xs := range phases {
			r.Stats[obs][ph] = stats.Summarize(xs)
		}
	}
	if diffs != nil {
		r.Agreement = map[string]stats.Summary{}
		for ph, xs := range diffs {
			r.Agreement[ph] = stats.Summarize(xs)
		}
	}
	// Every boot that started a VMM counts, failed ones included: their wall time is in
	// the loop too.
	for _, o := range r.Boots.Runs {
		if o.Value.Pid != 0 {
			r.VMMLifetimes += o.Value.Exit.Lifetime()
		}
	}
	r.LoopWall = r.Boots.Wall
	if r.VMMLifetimes > 0 {
		r.Overhead = float64(r.LoopWall) / float64(r.VMMLifetimes)
	}
}

// WriteText prints the report for a terminal.
func (r *SelftestReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "boot-time self-test: test guest on QEMU %s, accel %s, -cpu %s\n", r.Machine, r.Accel, r.CPUModel)
	if r.Accel == vmm.TCG {
		fmt.Fprintln(w, "  software emulation — not comparable with the paper")
	}
	fmt.Fprintf(w, "%s; observers %s; pinned to CPUs %v\n", r.QEMU, strings.Join(r.Observers, ", "), r.CPUs)
	fmt.Fprintln(w, r.Boots.Summary())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase (µs)\tobserver\tn\tmean\tmedian\tmin\tmax\tstddev\tci95\t")
	for _, ph := range Phases {
		for _, obs := range r.Observers {
			s, ok := r.Stats[obs][ph]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", ph, obs, s.N, s.Mean, s.Median, s.Min, s.Max, s.StdDev, s.CI95)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Agreement != nil {
		fmt.Fprintln(w, "observer agreement, debugcon − ftrace on the same boots (µs):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "phase\tn\tmedian\tmin\tmax\t")
		for _, ph := range []string{"vmm_us", "guest_us", "total_us"} {
			if s, ok := r.Agreement[ph]; ok {
				fmt.Fprintf(tw, "%s\t%d\t%+.1f\t%+.1f\t%+.1f\t\n", ph, s.N, s.Median, s.Min, s.Max)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "harness overhead: loop %v / VMM lifetimes %v = %.3f (target < 1.2)\nraw logs: %s\n",
		r.LoopWall.Round(time.Millisecond), r.VMMLifetimes.Round(time.Millisecond), r.Overhead, r.RawDir)
	return err
}
