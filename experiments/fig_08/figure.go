package fig08

import "slices"

// Apps are the four applications of Figure 8, in the order of the x axis (the original
// plot sorted them alphabetically).
var Apps = []string{"helloworld", "nginx", "redis", "sqlite"}

// Variant is one build configuration: Key as it appears in results.csv and in the
// configuration directory names (configs/<app>_<Key>), the legend label and the bar colour
// of the original plot.
type Variant struct {
	Key, Label, Color string
}

// Variants are the four build configurations in the order of the bars inside a group.
// The colours are what the original plot.py ended up assigning: it popped them
// from a sorted list in CSV order, which happens to give these four.
var Variants = []Variant{
	{Key: "default", Label: "Default configuration", Color: "sandybrown"},
	{Key: "lto", Label: "+ Link-Time Optim. (LTO)", Color: "teal"},
	{Key: "dce", Label: "+ Dead Code Elim. (DCE)", Color: "lightskyblue"},
	{Key: "dce_lto", Label: "+ DCE + LTO", Color: "orchid"},
}

// Image is one bar of the figure: an application built in one variant.
type Image struct {
	App, Variant string
}

// Key is the image's name in results.csv and under configs/, e.g. "nginx_dce_lto".
func (i Image) Key() string { return i.App + "_" + i.Variant }

// Images lists all 16 images in plot order (apps, then variants inside an app).
func Images() []Image {
	var out []Image
	for _, a := range Apps {
		for _, v := range Variants {
			out = append(out, Image{a, v.Key})
		}
	}
	return out
}

func knownApp(a string) bool { return slices.Contains(Apps, a) }

func variant(key string) (Variant, bool) {
	for _, v := range Variants {
		if v.Key == key {
			return v, true
		}
	}
	return Variant{}, false
}

func variantKeys() []string {
	var ks []string
	for _, v := range Variants {
		ks = append(ks, v.Key)
	}
	return ks
}
