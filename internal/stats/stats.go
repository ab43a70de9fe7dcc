// Package stats summarises repeated measurements: the numbers every figure reports
// per series (mean, median, extremes, spread and a 95% confidence interval of the mean).
package stats

import (
	"math"
	"sort"
)

// Summary describes one series of repeated measurements.
type Summary struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	StdDev float64 `json:"stddev"` // sample standard deviation (n-1)
	// CI95 is the half-width of the two-sided 95% confidence interval of the mean
	// (Student's t with n-1 degrees of freedom); zero when n < 2.
	CI95 float64 `json:"ci95"`
}

// Low and High bound the 95% confidence interval of the mean.
func (s Summary) Low() float64  { return s.Mean - s.CI95 }
func (s Summary) High() float64 { return s.Mean + s.CI95 }

// Summarize computes the summary of xs. An empty slice gives the zero Summary.
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	s := Summary{N: n, Mean: Mean(xs), Median: Median(xs), Min: xs[0], Max: xs[0]}
	for _, x := range xs {
		s.Min = math.Min(s.Min, x)
		s.Max = math.Max(s.Max, x)
	}
	if n > 1 {
		s.StdDev = StdDev(xs)
		s.CI95 = TQuantile975(n-1) * s.StdDev / math.Sqrt(float64(n))
	}
	return s
}

// Mean is the arithmetic mean of xs (NaN when empty).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	// Kahan summation: means of a few thousand µs values must not drift in the
	// last printed digit between equivalent inputs.
	var sum, c float64
	for _, x := range xs {
		y := x - c
		t := sum + y
		c = (t - sum) - y
		sum = t
	}
	return sum / float64(len(xs))
}

// Median is the middle value of xs, the mean of the two middle values for an even count
// (NaN when empty). xs is not modified.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// StdDev is the sample standard deviation of xs (n-1 in the denominator); 0 for n < 2.
func StdDev(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return 0
	}
	m := Mean(xs)
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(n-1))
}

// TQuantile975 is the 0.975 quantile of Student's t distribution with df degrees of
// freedom: the factor of a two-sided 95% confidence interval.
func TQuantile975(df int) float64 {
	if df < 1 {
		return math.NaN()
	}
	if df <= len(t975) {
		return t975[df-1]
	}
	// Cornish-Fisher expansion around the normal quantile; within 1e-4 of the exact
	// value for df > 30, which is far below any measurement's resolution.
	z := 1.959963984540054
	v := float64(df)
	z3, z5, z7 := z*z*z, z*z*z*z*z, z*z*z*z*z*z*z
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v) + (3*z7+19*z5+17*z3-15*z)/(384*v*v*v)
}

// t975[df-1] for df = 1..30 (standard table values).
var t975 = []float64{
	12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836,
	2.446911851, 2.364624252, 2.306004135, 2.262157163, 2.228138852,
	2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546,
	2.119905299, 2.109815578, 2.100922040, 2.093024054, 2.085963447,
	2.079613845, 2.073873068, 2.068657610, 2.063898562, 2.059538553,
	2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
}
