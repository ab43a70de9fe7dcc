package results

import (
	"bytes"
	"context"
	"testing"
)

func TestRecordHostFillsTheManifest(t *testing.T) {
	var m Manifest
	m.RecordHost(context.Background(), "")
	if m.Host == nil || m.Isolation == nil {
		t.Fatalf("manifest not filled: %+v", m)
	}
	b, err := MarshalJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"host"`, `"isolation"`, `"cpu_model"`, "KVM"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("manifest.json lacks %s", want)
		}
	}
}
