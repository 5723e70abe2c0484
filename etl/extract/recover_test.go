package extract

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRecoveredTurnsPanicsIntoErrors(t *testing.T) {
	err := recovered("advertiser 1 ad daily", func() error { panic("index out of range") })()
	require.ErrorContains(t, err, "advertiser 1 ad daily: panic: index out of range")
	want := errors.New("plain")
	require.Equal(t, want, recovered("x", func() error { return want })())
	require.NoError(t, recovered("x", func() error { return nil })())
}
