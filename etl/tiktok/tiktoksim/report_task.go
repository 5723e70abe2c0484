package tiktoksim

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// The asynchronous report task endpoints (see etl/tiktok/report_task.go for
// TikTok's documentation): create, check, download and cancel. A task's file
// is the report at the simulator's clock when the task was created, deleted
// entities included, written as CSV with TikTok's strings ("-" when
// missing), and served on the simulator's own address under FilesPath
// through a signed URL that expires an hour (of the simulator's clock) after
// it was handed out, as TikTok's download URLs do.

// FilesPath is where the simulator serves task files, outside BasePath as
// TikTok serves them from another host. No token is needed: the URL is signed.
const FilesPath = "/report-files/"

// TaskConfig configures the asynchronous report task endpoints. Zero fields
// take the defaults.
type TaskConfig struct {
	// Disabled answers 40001 to /report/task/create/, as TikTok answers an
	// app that is not on the allowlist of asynchronous reports.
	Disabled bool
	// ProcessingChecks is how many /report/task/check/ calls see a task
	// unfinished (QUEUING the first time, PROCESSING after) before it ends
	// (default 2; negative: it has ended at the first check).
	ProcessingChecks int
	// FailRate is the share of tasks that end FAILED, decided per task.
	FailRate float64
	// NotReadyDownloads is how many /report/task/download/ calls of an ended
	// task still answer 40201 (not ready) before the file is offered.
	NotReadyDownloads int
	// FileTruncations is how many transfers of each file are cut off halfway
	// (the connection is aborted). It needs a real listener, not an
	// in-process transport.
	FileTruncations int
	// CreateQPS and CreateQPM limit /report/task/create/ per app like
	// production (1 QPS, 60 QPM), answering 40100 past them (0: not enforced).
	CreateQPS int
	CreateQPM int
}

func (c TaskConfig) withDefaults() TaskConfig {
	if c.ProcessingChecks == 0 {
		c.ProcessingChecks = 2
	} else if c.ProcessingChecks < 0 {
		c.ProcessingChecks = 0
	}
	return c
}

// TaskStats counts what the task endpoints did.
type TaskStats struct {
	Created   uint64 // tasks created
	Checks    uint64 // status checks answered
	Failed    uint64 // tasks that ended FAILED (counted at the check that saw it)
	Canceled  uint64 // tasks cancelled
	NotReady  uint64 // 40201 answers
	URLs      uint64 // download URLs handed out
	Files     uint64 // file transfers begun
	FilesCut  uint64 // file transfers cut off halfway
	Refused   uint64 // creations refused (Disabled or over CreateQPS/QPM)
	LiveTasks int    // tasks the simulator remembers
}

// simTask is one created task.
type simTask struct {
	id        string
	p         *reportParams
	now       time.Time // the clock at creation: the file is the report then
	format    string
	fileName  string
	translate bool
	failed    bool

	checks   int
	canceled bool
	failSeen bool // the failure was counted
	notReady int  // 40201 answers left
	cuts     int  // cut transfers left
}

// maxTasks bounds the simulator's memory of tasks; the oldest are forgotten
// first (TikTok keeps them 30 days).
const maxTasks = 100_000

type taskState struct {
	mu    sync.Mutex
	cfg   TaskConfig
	limit *appLimit
	seq   uint64
	order []string
	tasks map[string]*simTask

	created, checks, failed, canceled, notReady, urls, files, cut, refused atomic.Uint64
}

func newTaskState(cfg TaskConfig) *taskState {
	return &taskState{cfg: cfg, limit: newAppLimit(cfg.CreateQPS, cfg.CreateQPM), tasks: make(map[string]*simTask)}
}

// SetTasks replaces the task configuration at runtime (tests switch failure
// modes between runs); it applies to existing tasks' remaining checks too.
func (s *Server) SetTasks(c TaskConfig) {
	ts := s.tasks
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.cfg = c.withDefaults()
	ts.limit = newAppLimit(c.CreateQPS, c.CreateQPM)
}

// TaskStats returns the task endpoints' counters.
func (s *Server) TaskStats() TaskStats {
	ts := s.tasks
	ts.mu.Lock()
	live := len(ts.tasks)
	ts.mu.Unlock()
	return TaskStats{
		Created: ts.created.Load(), Checks: ts.checks.Load(), Failed: ts.failed.Load(), Canceled: ts.canceled.Load(),
		NotReady: ts.notReady.Load(), URLs: ts.urls.Load(), Files: ts.files.Load(), FilesCut: ts.cut.Load(),
		Refused: ts.refused.Load(), LiveTasks: live,
	}
}

// running reports whether the task is still queued or processing.
func (t *simTask) running(n int) bool { return !t.canceled && t.checks <= n }

// status is what a check answers, given the number of checks so far.
func (t *simTask) status(n int) tiktok.TaskStatus {
	switch {
	case t.canceled:
		return tiktok.TaskCanceled
	case t.checks <= 1 && n > 0:
		return tiktok.TaskQueuing
	case t.checks <= n:
		return tiktok.TaskProcessing
	case t.failed:
		return tiktok.TaskFailed
	}
	return tiktok.TaskSuccess
}

const taskFailedMessage = "Report generation failed due to an internal error. Please create the task again."

// forbiddenFileNameChars are the characters TikTok refuses in file_name.
const forbiddenFileNameChars = "/\t\b@#$%^&*()[]"

func (s *Server) handleTaskCreate(r *request) ([]byte, *apiError) {
	ts := s.tasks
	ts.mu.Lock()
	cfg, limit := ts.cfg, ts.limit
	ts.mu.Unlock()
	if cfg.Disabled {
		ts.refused.Add(1)
		return nil, &apiError{code: tiktok.CodeNoPermission,
			msg: "No permission to operate. Asynchronous reports are an allowlist-only feature; apply for it in Allowlist Management."}
	}
	if !limit.allow(time.Now()) {
		ts.refused.Add(1)
		return nil, &apiError{code: tiktok.CodeRateLimited,
			msg: "The number of asynchronous report tasks created by your app exceeds the limit. Please retry later."}
	}
	var body struct {
		AdvertiserID  json.RawMessage `json:"advertiser_id"`
		AdvertiserIDs []string        `json:"advertiser_ids"`
		ServiceType   string          `json:"service_type"`
		ReportType    string          `json:"report_type"`
		DataLevel     string          `json:"data_level"`
		Dimensions    []string        `json:"dimensions"`
		Metrics       []string        `json:"metrics"`
		StartDate     string          `json:"start_date"`
		EndDate       string          `json:"end_date"`
		QueryLifetime bool            `json:"query_lifetime"`
		OutputFormat  string          `json:"output_format"`
		FileName      *string         `json:"file_name"`
		Translate     *bool           `json:"enable_report_title_translation"`
		Filtering     json.RawMessage `json:"filtering"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return nil, &apiError{code: tiktok.CodeInvalidParams, msg: "Invalid JSON body."}
	}
	switch {
	case len(body.AdvertiserIDs) > 0:
		return nil, errParam("advertiser_ids: not implemented by the simulator; use advertiser_id.")
	case body.QueryLifetime:
		return nil, errParam("query_lifetime: not implemented by the simulator.")
	}
	format := body.OutputFormat
	switch format {
	case "":
		format = "CSV_STRING"
	case "CSV_STRING", "CSV_DOWNLOAD":
	case "XLSX_DOWNLOAD":
		return nil, errParam("output_format: XLSX_DOWNLOAD is not implemented by the simulator.")
	default:
		return nil, errParam("output_format: %q is not CSV_STRING, CSV_DOWNLOAD or XLSX_DOWNLOAD.", format)
	}
	name := ""
	if body.FileName != nil {
		name = *body.FileName
		if len(name) > 255 || strings.ContainsAny(name, forbiddenFileNameChars) {
			return nil, errParam("file_name: at most 255 characters, none of / \\t \\b @ # $ %% ^ & * ( ) [ ].")
		}
	}
	metrics := body.Metrics
	if len(metrics) == 0 {
		metrics = []string{tiktok.MetricSpend, tiktok.MetricImpressions} // TikTok's default
	}
	q := map[string][]string{
		"advertiser_id": {strings.Trim(string(body.AdvertiserID), `"`)},
		"report_type":   {body.ReportType}, "service_type": {body.ServiceType}, "data_level": {body.DataLevel},
		"dimensions": {jsonText(body.Dimensions)}, "metrics": {jsonText(metrics)},
		"start_date": {body.StartDate}, "end_date": {body.EndDate},
	}
	if len(body.Filtering) > 0 && string(body.Filtering) != "null" {
		q["filtering"] = []string{string(body.Filtering)}
	}
	p, aerr := s.parseReport(q, true)
	if aerr != nil {
		return nil, aerr
	}
	ts.mu.Lock()
	ts.seq++
	id := fmt.Sprintf("74%017d", ts.seq)
	if name == "" {
		name = "report_" + id
	}
	t := &simTask{
		id: id, p: p, now: r.now, format: format, fileName: name + ".csv",
		translate: body.Translate == nil || *body.Translate,
		failed:    ts.cfg.FailRate > 0 && float64(mix(s.seed^hashString(id))>>11)/(1<<53) < ts.cfg.FailRate,
		notReady:  ts.cfg.NotReadyDownloads, cuts: ts.cfg.FileTruncations,
	}
	ts.tasks[id] = t
	ts.order = append(ts.order, id)
	for len(ts.order) > maxTasks {
		delete(ts.tasks, ts.order[0])
		ts.order = ts.order[1:]
	}
	ts.mu.Unlock()
	ts.created.Add(1)
	out, _ := json.Marshal(map[string]string{"task_id": id})
	return out, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// taskParam finds the task of the request's advertiser_id and task_id (query
// parameters, or the JSON body for cancel).
func (s *Server) taskParam(advertiserID, taskID string) (*simTask, *apiError) {
	a, aerr := s.advertiserParam(url.Values{"advertiser_id": {advertiserID}})
	if aerr != nil {
		return nil, aerr
	}
	if taskID == "" {
		return nil, errParam("task_id: required.")
	}
	s.tasks.mu.Lock()
	t := s.tasks.tasks[taskID]
	s.tasks.mu.Unlock()
	if t == nil || t.p.adv != a {
		return nil, errParam("task_id: task %s does not exist for advertiser %s.", taskID, advertiserID)
	}
	return t, nil
}

func (s *Server) handleTaskCheck(r *request) ([]byte, *apiError) {
	t, aerr := s.taskParam(r.query.Get("advertiser_id"), r.query.Get("task_id"))
	if aerr != nil {
		return nil, aerr
	}
	ts := s.tasks
	ts.checks.Add(1)
	ts.mu.Lock()
	if t.running(ts.cfg.ProcessingChecks) {
		t.checks++
	}
	st := t.status(ts.cfg.ProcessingChecks)
	justFailed := st == tiktok.TaskFailed && !t.failSeen
	if justFailed {
		t.failSeen = true
	}
	ts.mu.Unlock()
	msg := ""
	if st == tiktok.TaskFailed {
		msg = taskFailedMessage
		if justFailed {
			ts.failed.Add(1)
		}
	}
	out, _ := json.Marshal(map[string]string{"status": string(st), "message": msg})
	return out, nil
}

func (s *Server) handleTaskCancel(r *request) ([]byte, *apiError) {
	var body struct {
		AdvertiserID json.RawMessage `json:"advertiser_id"`
		TaskID       json.RawMessage `json:"task_id"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return nil, &apiError{code: tiktok.CodeInvalidParams, msg: "Invalid JSON body."}
	}
	t, aerr := s.taskParam(strings.Trim(string(body.AdvertiserID), `"`), strings.Trim(string(body.TaskID), `"`))
	if aerr != nil {
		return nil, aerr
	}
	ts := s.tasks
	ts.mu.Lock()
	running := t.running(ts.cfg.ProcessingChecks)
	st := t.status(ts.cfg.ProcessingChecks)
	if running {
		t.canceled = true
	}
	ts.mu.Unlock()
	if !running {
		return nil, errParam("task_id: task %s is %s and can no longer be canceled.", t.id, st)
	}
	ts.canceled.Add(1)
	out, _ := json.Marshal(map[string]string{"status": string(tiktok.TaskCanceled)})
	return out, nil
}

func (s *Server) handleTaskDownload(r *request) ([]byte, *apiError) {
	t, aerr := s.taskParam(r.query.Get("advertiser_id"), r.query.Get("task_id"))
	if aerr != nil {
		return nil, aerr
	}
	ts := s.tasks
	ts.mu.Lock()
	n := ts.cfg.ProcessingChecks
	running, st := t.running(n), t.status(n)
	notReady := false
	if !running && st == tiktok.TaskSuccess && t.notReady > 0 {
		t.notReady--
		notReady = true
	}
	ts.mu.Unlock()
	switch {
	case running || notReady:
		ts.notReady.Add(1)
		return nil, &apiError{code: tiktok.CodeTaskNotReady, msg: "The task is not ready yet. Please try again later."}
	case st != tiktok.TaskSuccess:
		return nil, &apiError{code: tiktok.CodeTaskError, msg: fmt.Sprintf("The task is %s; there is nothing to download.", st)}
	}
	if t.format == "CSV_STRING" {
		// The file itself is the answer.
		r.raw = func(w http.ResponseWriter) { s.writeTaskFile(w, t) }
		return nil, nil
	}
	ts.urls.Add(1)
	expire := s.Now().Add(time.Hour).Unix()
	scheme := "http"
	if r.http.TLS != nil {
		scheme = "https"
	}
	u := fmt.Sprintf("%s://%s%s%s?expire=%d&sign=%s", scheme, r.http.Host, FilesPath, t.id, expire, s.fileSign(t.id, expire))
	out, _ := json.Marshal(map[string]string{"download_url": u, "file_name": t.fileName, "output_format": t.format})
	return out, nil
}

func (s *Server) fileSign(id string, expire int64) string {
	return strconv.FormatUint(mix(s.seed^hashString(id)^mix(uint64(expire))), 16)
}

// serveFile serves a task's file at a signed URL.
func (s *Server) serveFile(w http.ResponseWriter, hr *http.Request) {
	id := strings.TrimPrefix(hr.URL.Path, FilesPath)
	expire, err := strconv.ParseInt(hr.URL.Query().Get("expire"), 10, 64)
	if hr.Method != http.MethodGet {
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err != nil || hr.URL.Query().Get("sign") != s.fileSign(id, expire) {
		http.Error(w, "AccessDenied: signature does not match", http.StatusForbidden)
		return
	}
	if s.Now().Unix() > expire {
		http.Error(w, "AccessDenied: request has expired", http.StatusForbidden)
		return
	}
	s.tasks.mu.Lock()
	t := s.tasks.tasks[id]
	s.tasks.mu.Unlock()
	if t == nil {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	s.writeTaskFile(w, t)
}

// headerTitles are the translated titles TikTok writes when
// enable_report_title_translation is true (its default); other names are
// title-cased.
var headerTitles = map[string]string{
	"advertiser_id": "Advertiser ID", "campaign_id": "Campaign ID", "adgroup_id": "Ad Group ID", "ad_id": "Ad ID",
	"stat_time_day": "Date", "stat_time_hour": "Hour", "spend": "Cost", "impressions": "Impression", "clicks": "Click",
	"ctr": "CTR", "cpc": "CPC", "cpm": "CPM",
}

func headerTitle(name string) string {
	if t, ok := headerTitles[name]; ok {
		return t
	}
	words := strings.Split(name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// writeTaskFile streams the task's CSV: the report window at the task's
// clock, deleted entities included, 30 days (or one day of hours) at a time.
// A transfer to cut is aborted after half its rows.
func (s *Server) writeTaskFile(w http.ResponseWriter, t *simTask) {
	ts := s.tasks
	ts.files.Add(1)
	ts.mu.Lock()
	cut := t.cuts > 0
	if cut {
		t.cuts--
	}
	ts.mu.Unlock()
	p := t.p
	var parts [][]simRow
	total := 0
	for _, win := range tiktok.Windows(p.start, p.end, p.gran, 0) {
		rows := s.window(windowKey{adv: p.adv.idx, level: p.level, gran: p.gran, start: win.Start, end: win.End, withDeleted: true, now: t.now.UnixNano()})
		parts = append(parts, rows)
		total += len(rows)
	}
	names := append([]string{p.level.IDDimension(), string(p.gran)}, p.metrics...)
	header := slices.Clone(names)
	if t.translate {
		for i := range header {
			header[i] = headerTitle(header[i])
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+t.fileName+`"`)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	_ = cw.Write(header)
	rec := make([]string, len(names))
	written := 0
	for _, rows := range parts {
		for i := range rows {
			if cut && written == total/2 {
				cw.Flush()
				_ = bw.Flush()
				_ = http.NewResponseController(w).Flush()
				ts.cut.Add(1)
				// Abort the connection: the client sees a transfer cut short.
				panic(http.ErrAbortHandler)
			}
			row := &rows[i]
			c := rowCtx{s: s, a: p.adv, level: p.level, row: row, reach: s.reach(row)}
			rec[0], rec[1] = row.id, statTime(row)
			for j := range p.metrics {
				rec[2+j] = p.fns[j].fn(&c).String()
			}
			if cw.Write(rec) != nil {
				return // the client went away
			}
			written++
		}
	}
	if cut {
		ts.cut.Add(1)
		cw.Flush()
		_ = bw.Flush()
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	cw.Flush()
	_ = bw.Flush()
}
