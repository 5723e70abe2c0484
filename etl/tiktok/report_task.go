package tiktok

// Asynchronous report tasks, TikTok's path for reports the synchronous
// endpoint cannot serve whole: POST /report/task/create/ (doc 1740302766489602),
// GET /report/task/check/ (1740302781443073), GET /report/task/download/
// (1740302808815618) and POST /report/task/cancel/ (1803615367145537). What
// TikTok documents, and what this file assumes where it does not:
//
//   - A task takes the synchronous report's fields plus output_format,
//     file_name and enable_report_title_translation. With CSV_DOWNLOAD the
//     download endpoint answers a JSON envelope with a download_url valid
//     for one hour; the file itself is a CSV on another host, fetched
//     without the access token. enable_report_title_translation defaults to
//     true ("Cost" instead of "spend"); TikTok recommends false, which is sent.
//   - check answers status QUEUING, PROCESSING, SUCCESS, FAILED or CANCELED,
//     and a message when FAILED. Codes 40200 (task error) and 40201 (not
//     ready) are polled again.
//   - Task results are valid for 30 days; there is no paging and no date
//     range limit. Only campaign_ids/adgroup_ids/ad_ids filters are accepted,
//     so the STATUS_ALL filter of the synchronous path cannot be sent:
//     deleted objects are assumed to be included, as in Ads Manager's own
//     downloads (TikTok does not say; the simulator does the same).
//   - Rate limit: 1 QPS per app and 4,500 tasks per app per day (Reporting
//     FAQ 1738864850353154); 2 QPS / 60 QPM / 4,500 QPD for
//     /report/task/create/ at every tier (rate-limit page); 500 creations per
//     ad account per hour and user. The task endpoints share their own
//     Limiter at the stricter figures (ReportTaskLimits).
//   - CSV values are the synchronous report's strings ("-" when missing);
//     stat_time_day may come as "YYYY-MM-DD" or "YYYY-MM-DD 00:00:00" (both
//     are accepted). Rows are decoded by the synchronous path's own row
//     decoder, so both paths produce identical ReportRows.

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AdsThrottleHeader is the response header with which the synchronous report
// says it truncated the account to its most recent 20,000 ads (Reporting FAQ
// 1738864850353154). Paging does not get around it; a report task does.
const AdsThrottleHeader = "X-Tt-Ads-Throttle"

// SyncReportMaxAds is the number of ads from which TikTok truncates the
// synchronous report of an account (older v1.3 notes and the SDK say 10,000
// without CHUNK mode; the current FAQ says 20,000).
const SyncReportMaxAds = 20_000

// Return codes of the task endpoints.
const (
	CodeTaskError    = 40200
	CodeTaskNotReady = 40201
)

// Report task defaults.
const (
	// DefaultTaskPollInterval is the first wait between two status checks;
	// it doubles up to DefaultTaskMaxPollInterval.
	DefaultTaskPollInterval    = 5 * time.Second
	DefaultTaskMaxPollInterval = time.Minute
	// DefaultTaskMaxWait bounds the time from a task's creation until its
	// file is offered; a task still unfinished then is cancelled.
	DefaultTaskMaxWait = 30 * time.Minute
	// DefaultTaskRowsPerPage is how many decoded rows of a task's file are
	// handed to the caller at once.
	DefaultTaskRowsPerPage = 1000
	// maxTaskErrors is how many 40200 answers in a row fail a task.
	maxTaskErrors = 3
)

// ReportTaskLimits is the budget of the task endpoints, shared by every
// client of one developer app (see the package notes above for the sources).
var ReportTaskLimits = LimiterConfig{QPS: 1, QPM: 60}

// TaskStatus is the status of an asynchronous report task.
type TaskStatus string

// The documented task statuses.
const (
	TaskQueuing    TaskStatus = "QUEUING"
	TaskProcessing TaskStatus = "PROCESSING"
	TaskSuccess    TaskStatus = "SUCCESS"
	TaskFailed     TaskStatus = "FAILED"
	TaskCanceled   TaskStatus = "CANCELED"
)

// Sentinels of the asynchronous path.
var (
	// ErrReportTruncated means the synchronous report carried the
	// X-Tt-Ads-Throttle header: the account has too many ads and the report
	// holds only the most recent ones. Use a report task.
	ErrReportTruncated = errors.New("tiktok: synchronous report truncated")
	// ErrReportTasksUnavailable means TikTok refused to create a report task
	// for lack of permission: asynchronous reports are an allowlist feature
	// of the developer app.
	ErrReportTasksUnavailable = errors.New("tiktok: asynchronous report tasks are not available to this app")
	// ErrReportTaskFailed means a task ended FAILED or CANCELED, or kept
	// answering 40200.
	ErrReportTaskFailed = errors.New("tiktok: report task failed")
	// ErrReportTaskTimeout means a task did not finish within the maximum
	// wait; it was cancelled.
	ErrReportTaskTimeout = errors.New("tiktok: report task did not finish in time")
	// ErrReportFileIncomplete means a task's file could not be fetched whole
	// (network failure, cut transfer, expired or refused URL). Rows already
	// handed over must be discarded; downloading again may succeed.
	ErrReportFileIncomplete = errors.New("tiktok: report file incomplete")
)

// ReportTruncatedError is a synchronous report page that carried the
// X-Tt-Ads-Throttle header. It matches ErrReportTruncated.
type ReportTruncatedError struct {
	Query     ReportQuery
	Page      int
	Warning   string // the header's text
	RequestID string
}

// Error names the advertiser, the window and TikTok's warning.
func (e *ReportTruncatedError) Error() string {
	return fmt.Sprintf("tiktok: the synchronous report of advertiser %s (%s %s..%s, page %d, request_id %s) is truncated: %s: %q",
		e.Query.AdvertiserID, e.Query.Level, e.Query.Start, e.Query.End, e.Page, e.RequestID, AdsThrottleHeader, e.Warning)
}

// Is makes errors.Is(err, ErrReportTruncated) true.
func (e *ReportTruncatedError) Is(target error) bool { return target == ErrReportTruncated }

// ReportTaskError is a report task that could not be created, did not
// finish, or whose file could not be read. It names the advertiser, the
// window and the task, and matches one of ErrReportTasksUnavailable,
// ErrReportTaskFailed, ErrReportTaskTimeout or ErrReportFileIncomplete.
type ReportTaskError struct {
	TaskID  string // empty when creation failed
	Query   ReportQuery
	Status  TaskStatus    // last status seen, if any
	Message string        // TikTok's reason, or what went wrong
	Waited  time.Duration // since the task was created
	kind    error
	err     error
}

// Error describes the failure.
func (e *ReportTaskError) Error() string {
	task := "report task"
	if e.TaskID != "" {
		task += " " + e.TaskID
	}
	s := fmt.Sprintf("tiktok: %s for advertiser %s (%s %s %s..%s)", task, e.Query.AdvertiserID,
		e.Query.Level.Name(), e.Query.Granularity.Name(), e.Query.Start, e.Query.End)
	switch e.kind {
	case ErrReportTasksUnavailable:
		s += ": TikTok refused to create it; asynchronous reports need the app on TikTok's allowlist"
	case ErrReportTaskFailed:
		s += fmt.Sprintf(" ended %s", e.Status)
	case ErrReportTaskTimeout:
		s += fmt.Sprintf(" was still %s after %s and was cancelled", e.Status, e.Waited.Round(time.Second))
	case ErrReportFileIncomplete:
		s += ": its file could not be read whole"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Is matches the error's class.
func (e *ReportTaskError) Is(target error) bool { return target != nil && target == e.kind }

// Unwrap returns the underlying error, if any.
func (e *ReportTaskError) Unwrap() error { return e.err }

// ReportTaskOptions configures [Client.ReportTasks]. Zero fields take the
// defaults.
type ReportTaskOptions struct {
	// Limiter is the budget of the task endpoints; share one between all
	// clients of an app. Nil makes a private one at ReportTaskLimits. Every
	// task call also waits for the client's own app limiter.
	Limiter *Limiter
	// PollInterval is the first wait between status checks (default
	// DefaultTaskPollInterval); it doubles up to MaxPollInterval (default
	// DefaultTaskMaxPollInterval).
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// MaxWait bounds a task from creation until its file is offered
	// (default DefaultTaskMaxWait).
	MaxWait time.Duration
	// RowsPerPage is how many rows Download hands over at once (default
	// DefaultTaskRowsPerPage).
	RowsPerPage int
}

func (o ReportTaskOptions) withDefaults() ReportTaskOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultTaskPollInterval
	}
	if o.MaxPollInterval <= 0 {
		o.MaxPollInterval = DefaultTaskMaxPollInterval
	}
	o.MaxPollInterval = max(o.MaxPollInterval, o.PollInterval)
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultTaskMaxWait
	}
	if o.RowsPerPage <= 0 {
		o.RowsPerPage = DefaultTaskRowsPerPage
	}
	return o
}

// ReportTasks runs asynchronous report tasks through a Client: its retries,
// error classes, counters and app limiter apply to every task call, and the
// task endpoints' own budget comes on top. It is safe for concurrent use.
type ReportTasks struct {
	c       *Client
	opts    ReportTaskOptions
	limiter *Limiter
	files   *http.Client // without the token: files live on another host
}

// ReportTasks returns the asynchronous report path of the client.
func (c *Client) ReportTasks(opts ReportTaskOptions) *ReportTasks {
	opts = opts.withDefaults()
	lim := opts.Limiter
	if lim == nil {
		lim = NewLimiter(ReportTaskLimits)
	}
	var rt http.RoundTripper = http.DefaultTransport
	if c.opts.HTTPClient != nil && c.opts.HTTPClient.Transport != nil {
		rt = c.opts.HTTPClient.Transport
	}
	t := &ReportTasks{c: c, opts: opts, limiter: lim}
	t.files = &http.Client{Transport: rt, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return t.checkFileURL(r.URL)
	}}
	return t
}

// Options returns the effective options.
func (t *ReportTasks) Options() ReportTaskOptions { return t.opts }

// Limiter returns the task endpoints' limiter.
func (t *ReportTasks) Limiter() *Limiter { return t.limiter }

// ReportTask is a created asynchronous report task.
type ReportTask struct {
	ID      string
	Query   ReportQuery
	Created time.Time
}

// call sends one task call: the task budget first, then the client's own
// retries and app limiter. Retries inside the client wait for the app
// limiter and the backoff only, so a burst of retried task calls can exceed
// the task budget; TikTok answers that with 40100, which pauses the app.
func (t *ReportTasks) call(ctx context.Context, cl call) (result, error) {
	if err := t.limiter.Wait(ctx, ""); err != nil {
		return result{}, fmt.Errorf("tiktok: %s %s for advertiser %s: waiting for the report task budget: %w", cl.method, cl.path, cl.advertiserID, err)
	}
	return t.c.do(ctx, cl)
}

// taskBody is the JSON body of /report/task/create/.
type taskBody struct {
	AdvertiserID       string   `json:"advertiser_id"`
	ServiceType        string   `json:"service_type"`
	ReportType         string   `json:"report_type"`
	DataLevel          string   `json:"data_level"`
	Dimensions         []string `json:"dimensions"`
	Metrics            []string `json:"metrics"`
	StartDate          string   `json:"start_date"`
	EndDate            string   `json:"end_date"`
	OutputFormat       string   `json:"output_format"`
	FileName           string   `json:"file_name"`
	EnableTranslations bool     `json:"enable_report_title_translation"`
}

// Create creates a task for the report window q. The window may be longer
// than the synchronous caps. q.ExcludeDeleted is refused: tasks take no
// status filter.
func (t *ReportTasks) Create(ctx context.Context, q ReportQuery) (ReportTask, Stats, error) {
	if err := q.validate(0); err != nil {
		return ReportTask{}, Stats{}, err
	}
	if q.ExcludeDeleted {
		return ReportTask{}, Stats{}, fmt.Errorf("tiktok: report task: ExcludeDeleted needs a status filter, which report tasks do not accept: %w", ErrInvalidRequest)
	}
	body := taskBody{
		AdvertiserID: q.AdvertiserID, ServiceType: "AUCTION", ReportType: "BASIC", DataLevel: string(q.Level),
		Dimensions: []string{q.Level.IDDimension(), string(q.Granularity)}, Metrics: q.metrics(),
		StartDate: q.Start.String(), EndDate: q.End.String(), OutputFormat: "CSV_DOWNLOAD",
		// Letters, digits, '_' and '-' only: TikTok forbids / @ # $ % ^ & * ( ) [ ] in it.
		FileName: fmt.Sprintf("adhouse_%s_%s_%s_%s_%s", q.AdvertiserID, q.Level.Name(), q.Granularity.Name(), q.Start, q.End),
	}
	created := time.Now()
	res, err := t.call(ctx, call{method: http.MethodPost, path: "report/task/create", advertiserID: q.AdvertiserID, body: body})
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && (apiErr.Code == CodeNoPermission || apiErr.Code == CodeDeveloperNoPermission) {
			// The token works (the other endpoints answer): this is the
			// app's missing allowlisting, not a reason to stop the run.
			return ReportTask{}, res.stats, &ReportTaskError{Query: q, kind: ErrReportTasksUnavailable,
				Message: fmt.Sprintf("code %d: %s (request_id %s)", apiErr.Code, apiErr.Message, apiErr.RequestID)}
		}
		return ReportTask{}, res.stats, err
	}
	var d struct {
		TaskID flexString `json:"task_id"`
	}
	if err := json.Unmarshal(res.data, &d); err != nil || d.TaskID == "" {
		return ReportTask{}, res.stats, fmt.Errorf("tiktok: report/task/create for advertiser %s (request_id %s): no task_id in the answer: %w",
			q.AdvertiserID, res.requestID, ErrMalformedResponse)
	}
	return ReportTask{ID: string(d.TaskID), Query: q, Created: created}, res.stats, nil
}

// TaskCheck is the answer of /report/task/check/.
type TaskCheck struct {
	Status    TaskStatus
	Message   string // TikTok's reason when FAILED
	RequestID string
}

// Check asks for the task's status once.
func (t *ReportTasks) Check(ctx context.Context, task ReportTask) (TaskCheck, Stats, error) {
	v := url.Values{"advertiser_id": {task.Query.AdvertiserID}, "task_id": {task.ID}}
	res, err := t.call(ctx, call{method: http.MethodGet, path: "report/task/check", advertiserID: task.Query.AdvertiserID, query: v})
	if err != nil {
		return TaskCheck{}, res.stats, err
	}
	var d struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(res.data, &d); err != nil || d.Status == "" {
		return TaskCheck{}, res.stats, fmt.Errorf("tiktok: report/task/check of task %s for advertiser %s (request_id %s): no status in the answer: %w",
			task.ID, task.Query.AdvertiserID, res.requestID, ErrMalformedResponse)
	}
	return TaskCheck{Status: TaskStatus(d.Status), Message: redact(d.Message, t.c.secrets), RequestID: res.requestID}, res.stats, nil
}

// Cancel cancels a queued or running task.
func (t *ReportTasks) Cancel(ctx context.Context, task ReportTask) (Stats, error) {
	body := map[string]string{"advertiser_id": task.Query.AdvertiserID, "task_id": task.ID}
	res, err := t.call(ctx, call{method: http.MethodPost, path: "report/task/cancel", advertiserID: task.Query.AdvertiserID, body: body})
	return res.stats, err
}

// abandon cancels a task nobody will download, even when ctx is done: a
// task left running holds a place in TikTok's queue.
func (t *ReportTasks) abandon(ctx context.Context, task ReportTask, why string) Stats {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	st, err := t.Cancel(cctx, task)
	ev := t.c.log.Info()
	if err != nil {
		ev = t.c.log.Warn().Str("error", redact(err.Error(), t.c.secrets))
	}
	ev.Str("advertiser_id", task.Query.AdvertiserID).Str("task_id", task.ID).Str("why", why).Msg("report task cancelled")
	return st
}

// Wait polls the task until its file is ready. Checks start at PollInterval
// and back off to MaxPollInterval, each waiting for the task budget; 40201
// (not ready) is polled again. A FAILED or CANCELED task returns
// ErrReportTaskFailed; a task unfinished MaxWait after its creation, or
// whose context ends, is cancelled and returns ErrReportTaskTimeout or the
// context's error.
func (t *ReportTasks) Wait(ctx context.Context, task ReportTask) (Stats, error) {
	var st Stats
	deadline := task.Created.Add(t.opts.MaxWait)
	interval := t.opts.PollInterval
	status := TaskQueuing
	taskErrors := 0
	fail := func(kind error, msg string, err error) (Stats, error) {
		return st, &ReportTaskError{TaskID: task.ID, Query: task.Query, Status: status, Message: msg,
			Waited: time.Since(task.Created), kind: kind, err: err}
	}
	for {
		next := time.Now().Add(interval)
		if next.After(deadline) {
			next = deadline
		}
		if err := sleepUntil(ctx, next); err != nil {
			st = st.Add(t.abandon(ctx, task, "context done"))
			return st, fmt.Errorf("tiktok: report task %s for advertiser %s: %w", task.ID, task.Query.AdvertiserID, err)
		}
		chk, cs, err := t.Check(ctx, task)
		st = st.Add(cs)
		var apiErr *APIError
		switch {
		case ctx.Err() != nil:
			st = st.Add(t.abandon(ctx, task, "context done"))
			return st, fmt.Errorf("tiktok: report task %s for advertiser %s: %w", task.ID, task.Query.AdvertiserID, ctx.Err())
		case errors.As(err, &apiErr) && apiErr.Code == CodeTaskNotReady:
			taskErrors = 0
		case errors.As(err, &apiErr) && apiErr.Code == CodeTaskError:
			if taskErrors++; taskErrors >= maxTaskErrors {
				return fail(ErrReportTaskFailed, fmt.Sprintf("%d answers of code %d in a row", taskErrors, CodeTaskError), err)
			}
		case err != nil:
			return st, err
		default:
			taskErrors = 0
			status = chk.Status
			switch chk.Status {
			case TaskSuccess:
				return st, nil
			case TaskFailed, TaskCanceled:
				return fail(ErrReportTaskFailed, chk.Message, nil)
			case TaskQueuing, TaskProcessing:
			default:
				return fail(ErrReportTaskFailed, fmt.Sprintf("unknown status %q (request_id %s)", truncateForError(string(chk.Status)), chk.RequestID), nil)
			}
		}
		if !time.Now().Before(deadline) {
			st, err := fail(ErrReportTaskTimeout, "", nil) // the wait, without the cancellation
			return st.Add(t.abandon(ctx, task, "maximum wait reached")), err
		}
		interval = min(2*interval, t.opts.MaxPollInterval)
	}
}

// fileInfo is the answer of /report/task/download/ for CSV_DOWNLOAD.
type fileInfo struct {
	URL      string `json:"download_url"`
	FileName string `json:"file_name"`
	Format   string `json:"output_format"`
}

// fileURL asks for the task's download URL, polling again while TikTok
// answers 40201 (not ready), until MaxWait after the task's creation.
func (t *ReportTasks) fileURL(ctx context.Context, task ReportTask) (fileInfo, Stats, error) {
	var st Stats
	v := url.Values{"advertiser_id": {task.Query.AdvertiserID}, "task_id": {task.ID}}
	deadline := task.Created.Add(t.opts.MaxWait)
	interval := t.opts.PollInterval
	for {
		res, err := t.call(ctx, call{method: http.MethodGet, path: "report/task/download", advertiserID: task.Query.AdvertiserID, query: v})
		st = st.Add(res.stats)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Code == CodeTaskNotReady && ctx.Err() == nil {
			if !time.Now().Before(deadline) {
				return fileInfo{}, st, &ReportTaskError{TaskID: task.ID, Query: task.Query, Status: TaskSuccess, kind: ErrReportTaskTimeout,
					Waited: time.Since(task.Created), Message: "the download kept answering 40201 (not ready)"}
			}
			next := time.Now().Add(interval)
			if next.After(deadline) {
				next = deadline
			}
			if err := sleepUntil(ctx, next); err != nil {
				return fileInfo{}, st, fmt.Errorf("tiktok: report task %s for advertiser %s: %w", task.ID, task.Query.AdvertiserID, err)
			}
			interval = min(2*interval, t.opts.MaxPollInterval)
			continue
		}
		if err != nil {
			return fileInfo{}, st, err
		}
		var fi fileInfo
		if err := json.Unmarshal(res.data, &fi); err != nil || fi.URL == "" {
			return fileInfo{}, st, fmt.Errorf("tiktok: report/task/download of task %s for advertiser %s (request_id %s): no download_url in the answer: %w",
				task.ID, task.Query.AdvertiserID, res.requestID, ErrMalformedResponse)
		}
		return fi, st, nil
	}
}

// checkFileURL accepts https URLs, and http ones only when the API itself is
// reached over http (the simulator): a signed URL over plain http from a
// TLS API would be a downgrade.
func (t *ReportTasks) checkFileURL(u *url.URL) error {
	switch {
	case u.Host == "":
		return errors.New("the download URL has no host")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && strings.HasPrefix(t.c.base, "http://"):
		return nil
	}
	return fmt.Errorf("the download URL's scheme %q is not https", u.Scheme)
}

// Download fetches the task's file and hands its rows to fn, RowsPerPage at
// a time, decoded exactly as StreamReport decodes the synchronous report
// (same ReportRow, same exact decimals, "-" as NULL, same timezone
// handling). The file is streamed: memory holds one page and 8 bytes per
// row for duplicate detection. A failed or cut transfer returns
// ErrReportFileIncomplete after fn may have received some pages: the caller
// discards them and may call Download again (a fresh URL is asked for each
// time, as they expire after an hour).
func (t *ReportTasks) Download(ctx context.Context, task ReportTask, fn func(ReportPage) error) (ReportSummary, error) {
	var sum ReportSummary
	q := task.Query
	loc := q.Location
	if loc == nil {
		var err error
		if loc, err = t.c.AdvertiserLocation(ctx, q.AdvertiserID); err != nil {
			return sum, err
		}
	}
	fi, st, err := t.fileURL(ctx, task)
	sum.Stats = sum.Stats.Add(st)
	if err != nil {
		return sum, err
	}
	incomplete := func(msg string, err error) error {
		return &ReportTaskError{TaskID: task.ID, Query: q, Status: TaskSuccess, kind: ErrReportFileIncomplete,
			Waited: time.Since(task.Created), Message: msg, err: err}
	}
	u, err := url.Parse(fi.URL)
	if err == nil {
		err = t.checkFileURL(u)
	}
	if err != nil {
		return sum, incomplete("refusing the download URL", errors.New(redact(err.Error(), t.c.secrets)))
	}
	// The URL's query is its signature: errors name the host and path only.
	where := u.Host + u.Path
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Headers must arrive, and then the body keep flowing, within the
	// client's timeout: a large file may take longer than that in total.
	idle := time.AfterFunc(t.c.opts.Timeout, cancel)
	defer idle.Stop()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, fi.URL, nil)
	if err != nil {
		return sum, incomplete("invalid download URL", nil)
	}
	req.Header.Set("User-Agent", t.c.opts.UserAgent)
	// The file's GET is a request like any other: counted once, by how it
	// ended, under FileEndpoint.
	outcome := OutcomeOK
	defer func() { t.c.count(CallCounterFrom(ctx), CallKey{Endpoint: FileEndpoint, Outcome: outcome}, false) }()
	failed := func(err error) string {
		switch {
		case ctx.Err() != nil:
			return OutcomeCancelled
		case errors.Is(err, ErrTimeout):
			return OutcomeTimeout
		}
		return OutcomeTransportError
	}
	resp, err := t.files.Do(req)
	if err != nil {
		err = fileErr(ctx, err)
		outcome = failed(err)
		return sum, incomplete("GET "+where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		outcome = OutcomeAPIError
		if resp.StatusCode >= 500 {
			outcome = OutcomeServerError
		}
		return sum, incomplete(fmt.Sprintf("GET %s: HTTP %d", where, resp.StatusCode), nil)
	}
	body := &idleReader{r: resp.Body, timer: idle, d: t.c.opts.Timeout}
	err = t.decodeFile(q, loc, body, func(p ReportPage) error {
		// The caller's time (a warehouse insert) is not the network's.
		idle.Stop()
		defer idle.Reset(t.c.opts.Timeout)
		return fn(p)
	}, &sum)
	var dec *fileDecodeError
	var cb callbackError
	switch {
	case err == nil:
		return sum, nil
	case errors.As(err, &dec):
		outcome = OutcomeMalformed
		return sum, fmt.Errorf("tiktok: report task %s for advertiser %s, file %s line %d: %w", task.ID, q.AdvertiserID, fi.FileName, dec.line, dec.err)
	case errors.As(err, &cb):
		return sum, cb.err
	}
	err = fileErr(ctx, err)
	outcome = failed(err)
	return sum, incomplete(fmt.Sprintf("reading %s after %d rows", where, sum.Rows), err)
}

// FileEndpoint names a report task file's download in the call counts: the
// file comes from a download host, not from an API path.
const FileEndpoint = "report/task/file"

// fileErr drops the URL (with its signature) from a transport error.
func fileErr(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.Is(err, context.Canceled) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no data for longer than the client timeout: %w", ErrTimeout)
	}
	return err
}

// idleReader restarts a timer on every read, so a stalled transfer is
// cancelled while a slow but steady one is not.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.timer.Reset(i.d)
	}
	return n, err
}

// fileDecodeError is a malformed line of a task's file.
type fileDecodeError struct {
	line int
	err  error
}

func (e *fileDecodeError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }

// callbackError carries an error returned by the caller's fn, which is
// handed back as is.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// fileColumn maps a CSV column to the row object it belongs to.
type fileColumn struct {
	name   string
	metric bool
}

// fileColumns checks the header row against the query: the ID and time
// dimensions and every requested metric, once each, nothing else.
func fileColumns(header []string, q ReportQuery) ([]fileColumn, error) {
	want := map[string]bool{q.Level.IDDimension(): false, string(q.Granularity): false}
	for _, m := range q.metrics() {
		want[m] = true
	}
	cols := make([]fileColumn, len(header))
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		metric, ok := want[h]
		switch {
		case !ok:
			return nil, fmt.Errorf("unexpected column %q in the header (report titles must be untranslated: enable_report_title_translation false)", truncateForError(h))
		case seen[h]:
			return nil, fmt.Errorf("column %q appears twice in the header", h)
		}
		seen[h] = true
		cols[i] = fileColumn{name: h, metric: metric}
	}
	for name := range want {
		if !seen[name] {
			return nil, fmt.Errorf("column %q is missing from the header", name)
		}
	}
	return cols, nil
}

// decodeFile streams the CSV into pages. Each line is turned into the
// synchronous report's {"dimensions":…,"metrics":…} objects and decoded by
// decodeRow, so both paths share one decoder.
func (t *ReportTasks) decodeFile(q ReportQuery, loc *time.Location, r io.Reader, fn func(ReportPage) error, sum *ReportSummary) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 256<<10))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return &fileDecodeError{line: 1, err: errors.New("the file is empty (no header row)")}
	}
	if err != nil {
		return csvErr(1, err)
	}
	cols, err := fileColumns(header, q)
	if err != nil {
		return &fileDecodeError{line: 1, err: err}
	}
	cr.FieldsPerRecord = len(cols)
	opts := DecodeOptions{AdvertiserID: q.AdvertiserID, Level: q.Level, Granularity: q.Granularity, Location: loc}
	tz := loc.String()
	size := t.opts.RowsPerPage
	page := ReportPage{Rows: make([]ReportRow, 0, size)}
	seen := newKeySet()
	deliver := func() error {
		if len(page.Rows) == 0 {
			return nil
		}
		sum.Pages++
		page.PageInfo = PageInfo{Page: sum.Pages, PageSize: size}
		if err := fn(page); err != nil {
			return callbackError{err}
		}
		page = ReportPage{Rows: make([]ReportRow, 0, size)}
		return nil
	}
	var dims, mets []byte
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvErr(line, err)
		}
		dims, mets = append(dims[:0], '{'), append(mets[:0], '{')
		for i, c := range cols {
			v := rec[i]
			if c.name == string(Daily) && len(v) == len("2006-01-02") {
				v += " 00:00:00"
			}
			b := &dims
			if c.metric {
				b = &mets
			}
			if len(*b) > 1 {
				*b = append(*b, ',')
			}
			*b = appendJSONString(*b, c.name)
			*b = append(*b, ':')
			*b = appendJSONString(*b, v)
		}
		dims, mets = append(dims, '}'), append(mets, '}')
		row, err := decodeRow(&rawRow{Dimensions: dims, Metrics: mets}, line, opts, tz)
		if err != nil {
			return &fileDecodeError{line: line, err: err}
		}
		// admit, as the synchronous reader does: the second row of an hour
		// that a fall-back day repeats is that hour's second occurrence.
		if !seen.admit(&row, loc) {
			return &fileDecodeError{line: line, err: fmt.Errorf("row %s repeats an earlier row of the file", row.Key())}
		}
		page.Rows = append(page.Rows, row)
		sum.Rows++
		if len(page.Rows) == size {
			if err := deliver(); err != nil {
				return err
			}
		}
	}
	return deliver()
}

// csvErr tells a malformed line from a failed transfer: encoding/csv wraps
// its own syntax errors in *csv.ParseError and passes read errors through.
func csvErr(line int, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) && (errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrFieldCount)) {
		return &fileDecodeError{line: max(line, pe.StartLine), err: pe.Err}
	}
	return err
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
