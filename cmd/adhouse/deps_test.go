package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBinaryDoesNotLinkTesting: test hooks live in test-only packages
// (warehousetest, simtest), so the shipped binary carries no testing code.
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, forbidden := range []string{"testing", "net/http/httptest", "github.com/stretchr/testify/require"} {
		if slices.Contains(deps, forbidden) {
			t.Errorf("the adhouse binary links %s", forbidden)
		}
	}
}
