package docker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A second image build waits for the first (here: until its context ends).
func TestImageBuildsAreSerialised(t *testing.T) {
	unlock, err := lockBuilds(context.Background(), func() { t.Error("the first lock waited") })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockBuilds(ctx, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Errorf("second lock while the first is held: %v (waited %v)", err, waited)
	}
	unlock()
	again, err := lockBuilds(context.Background(), func() { t.Error("waited after unlock") })
	if err != nil {
		t.Fatal(err)
	}
	again()
}
