package stats

import (
	"math"
	"testing"
)

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if s.N != 8 || s.Mean != 5 || s.Median != 4.5 || s.Min != 2 || s.Max != 9 {
		t.Fatalf("got %+v", s)
	}
	// Sample stddev of this classic set is sqrt(32/7).
	if !near(s.StdDev, math.Sqrt(32.0/7), 1e-12) {
		t.Errorf("stddev %v", s.StdDev)
	}
	// 95% CI half-width = t(0.975, 7) * sd / sqrt(8) = 2.364624252 * 2.138089935 / 2.828427125
	if !near(s.CI95, 1.787488, 1e-5) {
		t.Errorf("ci95 %v", s.CI95)
	}
	if !near(s.Low(), 5-s.CI95, 0) || !near(s.High(), 5+s.CI95, 0) {
		t.Errorf("bounds %v %v", s.Low(), s.High())
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	if s := Summarize(nil); s.N != 0 || s.Mean != 0 {
		t.Errorf("empty: %+v", s)
	}
	s := Summarize([]float64{3})
	if s.N != 1 || s.Mean != 3 || s.Median != 3 || s.StdDev != 0 || s.CI95 != 0 {
		t.Errorf("single: %+v", s)
	}
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(Median(nil)) {
		t.Error("mean/median of nothing must be NaN")
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 || in[1] != 1 {
		t.Error("Median must not reorder its input")
	}
}

func TestTQuantile(t *testing.T) {
	// Table values and the large-df expansion against known quantiles.
	cases := map[int]float64{1: 12.7062, 9: 2.2622, 25: 2.0595, 30: 2.0423, 40: 2.0211, 60: 2.0003, 120: 1.9799, 1000: 1.9623}
	for df, want := range cases {
		if got := TQuantile975(df); !near(got, want, 2e-4) {
			t.Errorf("t(0.975,%d) = %v, want %v", df, got, want)
		}
	}
	if !math.IsNaN(TQuantile975(0)) {
		t.Error("df 0 must be NaN")
	}
}
