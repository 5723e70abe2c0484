package warehouse

import (
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
)

func TestRedactKeepsTheExceptionCode(t *testing.T) {
	err := redact(fmt.Errorf("dial: %w", &clickhouse.Exception{Code: 516, Message: "bad password pw-3141 for user"}), "pw-3141")
	require.NotContains(t, err.Error(), "pw-3141")
	require.Contains(t, err.Error(), "<redacted>")
	code, ok := ExceptionCode(err)
	require.True(t, ok)
	require.Equal(t, int32(516), code)
	plain := fmt.Errorf("no secret here")
	require.Equal(t, plain, redact(plain, "pw-3141"))
}
