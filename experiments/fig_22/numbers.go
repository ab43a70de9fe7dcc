package fig22

import (
	"math"
	"strconv"
	"strings"
)

// The original computed its numbers with Python and numpy and wrote them with str(). These
// functions reproduce that arithmetic and formatting exactly, so that a run's CSVs are
// byte-identical to what the original scripts would have written from the same logs.

// pyStr formats x as Python 3's str(float) (= repr): the shortest string that reads back as
// x, in positional notation for 1e-4 <= |x| < 1e16 (always with a fractional part, "3277.0"),
// otherwise in exponent notation with a signed, at least two-digit exponent ("1e+16").
func pyStr(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(x, 'e', -1, 64) // "-d.ddde±XX"
	mant, exp, _ := strings.Cut(e, "e")
	p, _ := strconv.Atoi(exp)
	if x != 0 && (p < -4 || p >= 16) {
		sign := "+"
		if p < 0 {
			sign, p = "-", -p
		}
		ps := strconv.Itoa(p)
		if len(ps) < 2 {
			ps = "0" + ps
		}
		return mant + "e" + sign + ps
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// npRound2 is round(x, 2) on the numpy.float64 that numpy.average returns, which is what
// do_process_dataset.py wrote: numpy rounds by scaling, rint (halves to even) and
// scaling back, rint(x*100)/100. It is not Python's correctly rounded round(x, 2): for
// 1.115 (stored as 1.11499999…) numpy gives 1.12 and Python 1.11.
func npRound2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	return math.RoundToEven(x*100) / 100
}

// pyRound is Python's round(x) on a float: the nearest integer, halves to even. The original
// plot labels use it ("308 (86ns)").
func pyRound(x float64) int64 { return int64(math.RoundToEven(x)) }

// numpyMean is numpy.average(xs) on a float64 array as numpy computes it: the identity 0.0
// plus numpy's pairwise sum of the elements, divided by the count. It differs from a plain
// running sum only in the last bits, which is all that makes it worth copying: the CSVs
// then agree to the printed digit with what the original would have written.
func numpyMean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return (0 + pairwiseSum(xs)) / float64(len(xs))
}

// pairwiseSum is numpy's pairwise_sum for float64 (numpy/core/src/umath/loops_utils):
// a plain loop below 8 elements, eight interleaved accumulators up to 128, halving above.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// tscNS converts cycles to nanoseconds as do_process_dataset.py's tsc2nsec did:
// cycles / (float(MHz*1000000) / 1e9).
func tscNS(cycles float64, mhz int) float64 {
	return cycles / (float64(int64(mhz)*1000000) / 1e9)
}
