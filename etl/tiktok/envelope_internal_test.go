package tiktok

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeEnvelope requires decodeEnvelope to read every body as
// json.Unmarshal into an envelope does: the same fields, and an error for
// the same bodies.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, body := range []string{
		`{"code":0,"message":"OK","request_id":"1","data":{"list":[],"page_info":{"page":1}}}`,
		`{"code":40100,"message":"too many","request_id":"r"}`,
		`{"code":null,"data":null}`,
		`{"Code":1,"CODE":2,"message":null,"request_id":7}`,
		`{"code":"0"}`,
		`{"code":1.5}`,
		`{"\u0063ode":3,"data":[1,2]}`,
		`[{"code":0}]`,
		`"x"`,
		`{"code":0,"data":{"list":[}`,
		`<html>`,
		``,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want envelope
		wantErr := json.Unmarshal(body, &want)
		got, err := decodeEnvelope(body)
		if wantErr != nil {
			require.Error(t, err, "%q", body)
			return
		}
		require.NoError(t, err, "%q", body)
		require.Equal(t, want.Code, got.Code, "%q", body)
		require.Equal(t, want.Message, got.Message, "%q", body)
		require.Equal(t, want.RequestID, got.RequestID, "%q", body)
		require.Equal(t, string(want.Data), string(got.Data), "%q", body)
	})
}
