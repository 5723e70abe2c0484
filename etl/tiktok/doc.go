// Package tiktok is a client for the TikTok API for Business (Marketing API) v1.3,
// limited to what a reporting warehouse needs: OAuth authorisation, advertiser
// discovery and info, the campaign/ad group/ad entity lists, and the BASIC
// report at the four AUCTION data levels, synchronous ([Client.StreamReport])
// or through asynchronous report tasks ([Client.ReportTasks]) for accounts
// the synchronous report truncates.
//
// TikTok reports every error as HTTP 200 with a non-zero "code" in the JSON
// envelope, sends metric values as strings ("-" when missing), labels days and
// hours in the advertiser's own timezone, and limits requests per developer app.
// The client therefore:
//
//   - classifies errors by TikTok code into retryable (rate limits, system
//     errors, maintenance, HTTP 5xx, timeouts, truncated bodies), "shrink the
//     window" ([ErrQueryTooLarge]) and fail-fast (auth, parameters) classes, all
//     reported as [*APIError];
//   - decodes metrics exactly: money into decimal.Decimal straight from the
//     string, counts into uint64, "-" and null into NULL ([NullDecimal],
//     [NullUint64]) and keeps metrics it does not know in [Metrics.Extra];
//   - shares one [Limiter] per developer app between all advertisers and
//     clients, pausing the whole app about a second after a rate-limit error
//     and for the long pause only when the limit persists ([Limiter.Pause]);
//   - counts every request it sends by endpoint and outcome ([Client.Calls],
//     [CountCalls]);
//   - streams reports page by page ([Client.StreamReport]) and detects
//     pagination drift ([ErrPaginationDrift]) so callers can retry a window.
//
// Secrets (app secret, access token, auth codes) never appear in errors or logs.
//
// The sibling package tiktoksim is a deterministic simulator of the same API
// used by the tests, the demo and the benchmarks.
package tiktok
