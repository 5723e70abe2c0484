package tiktok_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
)

// fastTasks returns the task path of c with millisecond polls and no task
// budget, for tests that are not about timing.
func fastTasks(c *tiktok.Client) *tiktok.ReportTasks {
	return c.ReportTasks(tiktok.ReportTaskOptions{
		Limiter:      tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1}),
		PollInterval: time.Millisecond, MaxPollInterval: 4 * time.Millisecond, MaxWait: 30 * time.Second, RowsPerPage: 50,
	})
}

// pullTask runs a task for q to the end and collects its rows.
func pullTask(ctx context.Context, tasks *tiktok.ReportTasks, q tiktok.ReportQuery) ([]tiktok.ReportRow, tiktok.ReportSummary, error) {
	task, _, err := tasks.Create(ctx, q)
	if err != nil {
		return nil, tiktok.ReportSummary{}, err
	}
	if _, err := tasks.Wait(ctx, task); err != nil {
		return nil, tiktok.ReportSummary{}, err
	}
	var rows []tiktok.ReportRow
	sum, err := tasks.Download(ctx, task, func(p tiktok.ReportPage) error {
		rows = append(rows, p.Rows...)
		return nil
	})
	return rows, sum, err
}

// TestReportTaskEqualsSyncReportAndTruth pulls the same windows through the
// synchronous report and through report tasks at every level and
// granularity, in timezones behind and ahead of UTC and across a DST change:
// both paths give identical rows (every decimal, NULL, local hour and UTC
// instant), equal to the simulator's truth.
func TestReportTaskEqualsSyncReportAndTruth(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 11, StartDate: date(2024, 3, 1), Days: 45})
	tasks := fastTasks(c)
	ctx := context.Background()
	windows := []tiktok.DateRange{
		{Start: date(2024, 3, 2), End: date(2024, 3, 31)},  // 30 days, the synchronous cap
		{Start: date(2024, 3, 31), End: date(2024, 3, 31)}, // Europe/Berlin skips 02:00
	}
	for _, adv := range srv.AdvertiserIDs() { // Etc/GMT+8, Asia/Tokyo, Europe/Berlin
		for _, lvl := range tiktok.Levels {
			for _, g := range []tiktok.Granularity{tiktok.Daily, tiktok.Hourly} {
				w := windows[0]
				if g == tiktok.Hourly {
					w = windows[1]
				}
				t.Run(fmt.Sprintf("%s/%s/%s", adv[len(adv)-1:], lvl.Name(), g.Name()), func(t *testing.T) {
					q := tiktok.ReportQuery{AdvertiserID: adv, Level: lvl, Granularity: g, Start: w.Start, End: w.End}
					syncRows, _, err := pull(ctx, c, q)
					if err != nil {
						t.Fatal(err)
					}
					before := c.Calls().Count(tiktok.FileEndpoint, tiktok.OutcomeOK)
					taskRows, sum, err := pullTask(ctx, tasks, q)
					if err != nil {
						t.Fatal(err)
					}
					want, err := srv.Truth(adv, lvl, g, w.Start, w.End)
					if err != nil {
						t.Fatal(err)
					}
					if len(want) == 0 {
						t.Fatal("no rows in the window")
					}
					tiktok.SortRows(syncRows)
					tiktok.SortRows(taskRows)
					tiktok.SortRows(want)
					requireSameRows(t, taskRows, want)
					requireSameRows(t, taskRows, syncRows)
					if sum.Rows != len(want) || sum.Pages != (len(want)+49)/50 {
						t.Errorf("summary %+v for %d rows", sum, len(want))
					}
					// The file's download is counted like an API request.
					if got := c.Calls().Count(tiktok.FileEndpoint, tiktok.OutcomeOK) - before; got != 1 {
						t.Errorf("a task's download counted %d times, want 1", got)
					}
				})
			}
		}
	}
	st := srv.TaskStats()
	if want := uint64(3 * 4 * 2); st.Created != want || st.Files != want || st.URLs != want {
		t.Errorf("task stats %+v, want %d tasks, URLs and files", st, want)
	}
}

// TestReportTaskLongerThanSyncCap pulls 45 days in one task, which the
// synchronous report refuses, and gets the truth of all 45 days.
func TestReportTaskLongerThanSyncCap(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 3})
	adv := srv.AdvertiserIDs()[1]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelCampaign, Granularity: tiktok.Daily, Start: date(2024, 1, 5), End: date(2024, 2, 18)}
	if _, _, err := pull(context.Background(), c, q); !errors.Is(err, tiktok.ErrInvalidRequest) {
		t.Fatalf("the synchronous report took 45 days: %v", err)
	}
	rows, _, err := pullTask(context.Background(), fastTasks(c), q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := srv.Truth(adv, q.Level, q.Granularity, q.Start, q.End)
	if err != nil {
		t.Fatal(err)
	}
	tiktok.SortRows(rows)
	tiktok.SortRows(want)
	requireSameRows(t, rows, want)
}

// TestReportTaskPollingInVirtualTime follows one task in a synctest bubble:
// the checks come at the documented back-off (1s, 2s, 4s, then capped at
// 5s), the task endpoints never exceed their own budget of 1 per second,
// and the task is SUCCESS after QUEUING and three PROCESSING answers.
func TestReportTaskPollingInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := tiktoksim.New(tiktoksim.Config{Seed: 5, Tasks: tiktoksim.TaskConfig{ProcessingChecks: 4}})
		rec := &pathArrivals{next: sim, at: map[string][]time.Time{}}
		c := newClient(t, inProcessOptions(rec, sim.AccessToken()))
		tasks := c.ReportTasks(tiktok.ReportTaskOptions{PollInterval: time.Second, MaxPollInterval: 5 * time.Second})
		if got := tasks.Limiter().Config(); got.QPS != 1 || got.QPM != 60 {
			t.Fatalf("task limiter %+v, want the documented 1 QPS / 60 QPM", got)
		}
		adv := sim.AdvertiserIDs()[0]
		q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 30)}
		start := time.Now()
		rows, _, err := pullTask(context.Background(), tasks, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Fatal("no rows")
		}
		checks := rec.times("report/task/check/")
		if len(checks) != 5 {
			t.Fatalf("%d checks, want 5 (QUEUING, 3×PROCESSING, SUCCESS)", len(checks))
		}
		var gaps []time.Duration
		prev := rec.times("report/task/create/")[0]
		for _, at := range checks {
			gaps = append(gaps, at.Sub(prev).Round(10*time.Millisecond))
			prev = at
		}
		// The first check is due 1s after the creation, but the task budget
		// spaces task calls 1s plus its 50ms margin apart.
		if want := []time.Duration{time.Second + tiktok.DefaultLimiterMargin, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}; !slices.Equal(gaps, want) {
			t.Errorf("gaps between checks %v, want %v", gaps, want)
		}
		all := rec.taskArrivals()
		for i := 1; i < len(all); i++ {
			if all[i].Sub(all[i-1]) < time.Second {
				t.Errorf("task calls %s apart, over the 1 QPS budget", all[i].Sub(all[i-1]))
			}
		}
		t.Logf("task finished in %s of virtual time with %d task calls", time.Since(start), len(all))
	})
}

// pathArrivals records when requests for each API path arrive.
type pathArrivals struct {
	mu   sync.Mutex
	at   map[string][]time.Time
	next http.Handler
}

func (p *pathArrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	path := strings.TrimPrefix(r.URL.Path, tiktoksim.BasePath)
	p.at[path] = append(p.at[path], time.Now())
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

func (p *pathArrivals) times(path string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.at[path])
}

func (p *pathArrivals) taskArrivals() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var all []time.Time
	for path, ts := range p.at {
		if strings.HasPrefix(path, "report/task/") {
			all = append(all, ts...)
		}
	}
	slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
	return all
}

// TestReportTaskFailures covers how a task can go wrong: FAILED, never
// finishing, the context ending, TikTok refusing tasks, and downloads that
// keep answering 40201. Each gives a typed error naming the advertiser and
// the window, and cancels a task left running.
func TestReportTaskFailures(t *testing.T) {
	q := func(sim *tiktoksim.Server) tiktok.ReportQuery {
		return tiktok.ReportQuery{AdvertiserID: sim.AdvertiserIDs()[0], Level: tiktok.LevelAdGroup, Granularity: tiktok.Daily,
			Start: date(2024, 1, 3), End: date(2024, 1, 9)}
	}
	tests := []struct {
		name     string
		cfg      tiktoksim.TaskConfig
		maxWait  time.Duration
		cancelAt time.Duration
		want     error
		notWant  error
		canceled uint64
		text     []string
	}{
		{name: "failed", cfg: tiktoksim.TaskConfig{FailRate: 1}, want: tiktok.ErrReportTaskFailed,
			text: []string{"advertiser 7000000000000000001", "adgroup daily 2024-01-03..2024-01-09", "ended FAILED", "internal error"}},
		{name: "never finishes", cfg: tiktoksim.TaskConfig{ProcessingChecks: 1 << 30}, maxWait: 10 * time.Minute, want: tiktok.ErrReportTaskTimeout,
			canceled: 1, text: []string{"still PROCESSING after 10m0s", "cancelled"}},
		{name: "context cancelled", cfg: tiktoksim.TaskConfig{ProcessingChecks: 1 << 30}, cancelAt: 90 * time.Second, want: context.Canceled, canceled: 1},
		{name: "not allowlisted", cfg: tiktoksim.TaskConfig{Disabled: true}, want: tiktok.ErrReportTasksUnavailable, notWant: tiktok.ErrAuth,
			text: []string{"allowlist", "code 40001"}},
		{name: "download never ready", cfg: tiktoksim.TaskConfig{NotReadyDownloads: 1 << 30}, maxWait: 10 * time.Minute, want: tiktok.ErrReportTaskTimeout,
			text: []string{"40201"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := tiktoksim.New(tiktoksim.Config{Seed: 5, Tasks: tc.cfg})
				c := newClient(t, inProcessOptions(sim, sim.AccessToken()))
				tasks := c.ReportTasks(tiktok.ReportTaskOptions{PollInterval: 5 * time.Second, MaxPollInterval: time.Minute, MaxWait: tc.maxWait})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancelAt > 0 {
					time.AfterFunc(tc.cancelAt, cancel)
				}
				start := time.Now()
				rows, _, err := pullTask(ctx, tasks, q(sim))
				took := time.Since(start)
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want %v", err, tc.want)
				}
				if tc.notWant != nil && errors.Is(err, tc.notWant) {
					t.Errorf("error %v also matches %v", err, tc.notWant)
				}
				if len(rows) != 0 {
					t.Errorf("%d rows delivered", len(rows))
				}
				for _, s := range tc.text {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				if got := sim.TaskStats().Canceled; got != tc.canceled {
					t.Errorf("%d tasks cancelled, want %d", got, tc.canceled)
				}
				if tc.maxWait > 0 && (took < tc.maxWait || took > tc.maxWait+time.Minute) {
					t.Errorf("gave up after %s, want about %s", took, tc.maxWait)
				}
				if tc.cancelAt > 0 && took != tc.cancelAt {
					t.Errorf("returned %s after the start, want at the cancellation (%s)", took, tc.cancelAt)
				}
			})
		})
	}
}

// TestReportTaskNotReadyThenReady: a finished task whose download answers
// 40201 a few times is polled again and delivers the truth.
func TestReportTaskNotReadyThenReady(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 8, Tasks: tiktoksim.TaskConfig{NotReadyDownloads: 3}})
	adv := srv.AdvertiserIDs()[2]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Hourly, Start: date(2024, 2, 2), End: date(2024, 2, 2)}
	rows, _, err := pullTask(context.Background(), fastTasks(c), q)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := srv.Truth(adv, q.Level, q.Granularity, q.Start, q.End)
	tiktok.SortRows(rows)
	tiktok.SortRows(want)
	requireSameRows(t, rows, want)
	if st := srv.TaskStats(); st.NotReady != 3 || st.URLs != 1 {
		t.Errorf("task stats %+v, want 3 not-ready answers then one URL", st)
	}
}

// TestReportTaskFileCutOff: a transfer aborted halfway is ErrReportFileIncomplete
// after some rows; downloading again (a fresh URL) delivers the whole truth.
func TestReportTaskFileCutOff(t *testing.T) {
	srv, c := simClient(t, tiktoksim.Config{Seed: 4, Tasks: tiktoksim.TaskConfig{FileTruncations: 1}})
	tasks := fastTasks(c)
	ctx := context.Background()
	adv := srv.AdvertiserIDs()[0]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 30)}
	task, _, err := tasks.Create(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.Wait(ctx, task); err != nil {
		t.Fatal(err)
	}
	var first []tiktok.ReportRow
	_, err = tasks.Download(ctx, task, func(p tiktok.ReportPage) error { first = append(first, p.Rows...); return nil })
	if !errors.Is(err, tiktok.ErrReportFileIncomplete) {
		t.Fatalf("cut transfer: %v, want ErrReportFileIncomplete", err)
	}
	if strings.Contains(err.Error(), "sign=") || !strings.Contains(err.Error(), "task "+task.ID) {
		t.Errorf("error %q leaks the signed URL or misses the task", err)
	}
	var rows []tiktok.ReportRow
	if _, err := tasks.Download(ctx, task, func(p tiktok.ReportPage) error { rows = append(rows, p.Rows...); return nil }); err != nil {
		t.Fatal(err)
	}
	want, _ := srv.Truth(adv, q.Level, q.Granularity, q.Start, q.End)
	if len(first) >= len(want) {
		t.Errorf("the cut transfer delivered %d of %d rows", len(first), len(want))
	}
	tiktok.SortRows(rows)
	tiktok.SortRows(want)
	requireSameRows(t, rows, want)
	if st := srv.TaskStats(); st.FilesCut != 1 || st.Files != 2 {
		t.Errorf("task stats %+v", st)
	}
}

// TestSyncReportTruncationAndSize: an account with at least SyncMaxAds ads
// gets X-Tt-Ads-Throttle on its synchronous report, which the client
// refuses before any row reaches the caller; the truncated report would
// indeed have been wrong, and a task serves the truth. A window of more
// rows than SyncMaxRows answers 40067.
func TestSyncReportTruncationAndSize(t *testing.T) {
	cfg := tiktoksim.Config{Seed: 6, CampaignsPerAdvertiser: 3, AdGroupsPerCampaign: 2, AdsPerAdGroup: 3, SyncMaxAds: 10}
	srv, c := simClient(t, cfg)
	adv := srv.AdvertiserIDs()[0]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelCampaign, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 30)}
	calls := 0
	_, err := c.StreamReport(context.Background(), q, func(tiktok.ReportPage) error { calls++; return nil })
	if !errors.Is(err, tiktok.ErrReportTruncated) || calls != 0 {
		t.Fatalf("truncated report: err %v after %d pages, want ErrReportTruncated before any", err, calls)
	}
	if !strings.Contains(err.Error(), "only return the top 10 id's results") || !strings.Contains(err.Error(), adv) {
		t.Errorf("error %q does not quote TikTok's warning and the advertiser", err)
	}
	// What the header warns about: the same page read without the check
	// holds less spend than the truth.
	req, _ := http.NewRequest(http.MethodGet, srv.BaseURL()+"report/integrated/get/?"+q.Params(1, 1000).Encode(), nil)
	req.Header.Set(tiktok.AccessTokenHeader, srv.AccessToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page, err := tiktok.DecodeReport(body, tiktok.DecodeOptions{AdvertiserID: adv, Level: q.Level, Granularity: q.Granularity})
	if err != nil || resp.Header.Get(tiktok.AdsThrottleHeader) == "" {
		t.Fatalf("raw truncated page: %v, header %q", err, resp.Header.Get(tiktok.AdsThrottleHeader))
	}
	want, _ := srv.Truth(adv, q.Level, q.Granularity, q.Start, q.End)
	cut, _ := tiktoksim.TruthTotals(page.Rows, tiktok.MetricSpend)
	whole, _ := tiktoksim.TruthTotals(want, tiktok.MetricSpend)
	if !cut.LessThan(whole) {
		t.Fatalf("truncated spend %s is not below the truth %s: the test cannot tell truncation", cut, whole)
	}
	rows, _, err := pullTask(context.Background(), fastTasks(c), q)
	if err != nil {
		t.Fatal(err)
	}
	tiktok.SortRows(rows)
	tiktok.SortRows(want)
	requireSameRows(t, rows, want)

	big := tiktoksim.Config{Seed: 6, SyncMaxRows: 40}
	srv2, c2 := simClient(t, big)
	q2 := tiktok.ReportQuery{AdvertiserID: srv2.AdvertiserIDs()[0], Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 30)}
	if _, _, err := pull(context.Background(), c2, q2); !errors.Is(err, tiktok.ErrQueryTooLarge) {
		t.Fatalf("large window: %v, want ErrQueryTooLarge", err)
	}
	q2.End = q2.Start
	if _, _, err := pull(context.Background(), c2, q2); err != nil {
		t.Fatalf("one day is under the size: %v", err)
	}
}

// fileServer answers the task endpoints for one task and serves body as its
// file, recording the headers the file request carried.
type fileServer struct {
	body    string
	status  int
	fileURL string // overrides the download URL
	mu      sync.Mutex
	fileHdr http.Header
}

func (f *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	envelope := func(data string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"code":0,"message":"OK","request_id":"r1","data":%s}`, data)
	}
	switch strings.TrimPrefix(r.URL.Path, tiktoksim.BasePath) {
	case "advertiser/info/":
		envelope(`{"list":[{"advertiser_id":"42","currency":"USD","timezone":"Asia/Tokyo"}]}`)
	case "report/task/create/":
		envelope(`{"task_id":123456789012345678}`)
	case "report/task/check/":
		envelope(`{"status":"SUCCESS","message":""}`)
	case "report/task/download/":
		u := f.fileURL
		if u == "" {
			u = "http://" + r.Host + "/files/x.csv?sign=s3cr3t-signature"
		}
		envelope(fmt.Sprintf(`{"download_url":%q,"file_name":"x.csv","output_format":"CSV_DOWNLOAD"}`, u))
	case "/files/x.csv":
		f.mu.Lock()
		f.fileHdr = r.Header.Clone()
		f.mu.Unlock()
		if f.status != 0 {
			w.WriteHeader(f.status)
		}
		fmt.Fprint(w, f.body)
	default:
		http.NotFound(w, r)
	}
}

// TestReportTaskFileDecoding feeds hand-written files to the client: columns
// in any order, a byte-order mark, a date without time, quoted names, "-"
// and empty values decode like the synchronous report; malformed files fail
// with the line and the reason; a refused or foreign download fails as
// incomplete; the access token never goes to the file's host.
func TestReportTaskFileDecoding(t *testing.T) {
	q := tiktok.ReportQuery{AdvertiserID: "42", Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 5, 1), End: date(2024, 5, 2),
		Metrics: []string{"spend", "impressions", "ad_name"}}
	tests := []struct {
		name    string
		body    string
		status  int
		fileURL string
		want    error // nil: success
		text    string
	}{
		{name: "good", body: "\ufeffimpressions,ad_name,stat_time_day,ad_id,spend\r\n" +
			"1200,\"Ad, \"\"the one\"\"\",2024-05-01,777,12.50\r\n" +
			"-,Ad 2,2024-05-02 00:00:00,778,-\r\n" +
			"0,,2024-05-02,777,0.000001\r\n"},
		{name: "header only", body: "ad_id,stat_time_day,spend,impressions,ad_name\n"},
		{name: "translated titles", body: "Ad ID,Date,Cost,Impression,Ad Name\n1,2024-05-01,1,1,x\n", text: "line 1: unexpected column \"Ad ID\""},
		{name: "missing column", body: "ad_id,stat_time_day,spend,impressions\n", text: "column \"ad_name\" is missing"},
		{name: "repeated column", body: "ad_id,ad_id,stat_time_day,spend,impressions,ad_name\n", text: "appears twice"},
		{name: "repeated row", body: "ad_id,stat_time_day,spend,impressions,ad_name\n1,2024-05-01,1,1,a\n2,2024-05-01,1,1,b\n1,2024-05-01,2,2,a\n",
			text: "line 4: row 1|2024-05-01|0 repeats an earlier row"},
		{name: "bad money", body: "ad_id,stat_time_day,spend,impressions,ad_name\n1,2024-05-01,1.2.3,1,a\n", text: "line 2: tiktok: decode row 2 field \"spend\""},
		{name: "bad count", body: "ad_id,stat_time_day,spend,impressions,ad_name\n1,2024-05-01,1,1.5,a\n", text: "field \"impressions\""},
		{name: "bad date", body: "ad_id,stat_time_day,spend,impressions,ad_name\n1,05/01/2024,1,1,a\n", text: "field \"stat_time_day\""},
		{name: "short line", body: "ad_id,stat_time_day,spend,impressions,ad_name\n1,2024-05-01,1\n", text: "line 2: wrong number of fields"},
		{name: "bare quote", body: "ad_id,stat_time_day,spend,impressions,ad_name\n1,2024-05-01,1,1,a\"b\n", text: "bare \" in non-quoted-field"},
		{name: "empty file", body: "", text: "the file is empty"},
		{name: "expired URL", status: http.StatusForbidden, body: "AccessDenied", want: tiktok.ErrReportFileIncomplete, text: "HTTP 403"},
		{name: "not a web URL", fileURL: "ftp://files.example.com/x.csv", want: tiktok.ErrReportFileIncomplete, text: "scheme \"ftp\" is not https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fileServer{body: tc.body, status: tc.status, fileURL: tc.fileURL}
			c := newClient(t, inProcessOptions(fs, "tok-123456"))
			rows, _, err := pullTask(context.Background(), fastTasks(c), q)
			switch {
			case tc.text == "" && err != nil:
				t.Fatal(err)
			case tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)):
				t.Fatalf("error %v, want one saying %q", err, tc.text)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("error %v is not %v", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "s3cr3t"):
				t.Errorf("error %q carries the URL's signature", err)
			}
			if tc.text != "" && !strings.Contains(tc.name, "URL") && !strings.Contains(err.Error(), "task 123456789012345678 for advertiser 42, file x.csv") {
				t.Errorf("error %q does not name the task, advertiser and file", err)
			}
			fs.mu.Lock()
			if h := fs.fileHdr; h != nil && h.Get(tiktok.AccessTokenHeader) != "" {
				t.Errorf("the access token was sent to the file's host")
			}
			fs.mu.Unlock()
			if tc.name != "good" {
				return
			}
			tokyo, _ := time.LoadLocation("Asia/Tokyo")
			want := []tiktok.ReportRow{
				{EntityID: "777", Date: date(2024, 5, 1), Metrics: metrics(t, "12.50", "1200", "Ad, \"the one\"")},
				{EntityID: "777", Date: date(2024, 5, 2), Metrics: metrics(t, "0.000001", "0", "-")},
				{EntityID: "778", Date: date(2024, 5, 2), Metrics: metrics(t, "-", "-", "Ad 2")},
			}
			for i := range want {
				w := &want[i]
				w.AdvertiserID, w.Level, w.Granularity, w.Timezone = "42", tiktok.LevelAd, tiktok.Daily, "Asia/Tokyo"
				w.StartUTC = w.Date.In(tokyo, 0).UTC()
			}
			tiktok.SortRows(rows)
			requireSameRows(t, rows, want)
		})
	}
}

// metrics builds spend, impressions and an ad_name extra, as decoded.
func metrics(t *testing.T, spend, impressions, name string) tiktok.Metrics {
	t.Helper()
	page, err := tiktok.DecodeReport([]byte(fmt.Sprintf(`{"code":0,"data":{"list":[{"dimensions":{"ad_id":"1"},"metrics":{"spend":%q,"impressions":%q,"ad_name":%q}}]}}`,
		spend, impressions, name)), tiktok.DecodeOptions{Level: tiktok.LevelAd})
	if err != nil {
		t.Fatal(err)
	}
	return page.Rows[0].Metrics
}

// BenchmarkReportTaskVsSync pulls one 30-day ad-level window of a
// 2,000-ad account through the synchronous report (the baseline, 1,000-row
// pages) and through a report task (one CSV file, streamed), from the same
// simulator with its window cache warm, and reports both rates, their ratio
// and the bytes allocated per row.
func BenchmarkReportTaskVsSync(b *testing.B) {
	srv, c := simClient(b, tiktoksim.Config{Seed: 1, Advertisers: 1, CampaignsPerAdvertiser: 20, AdGroupsPerCampaign: 10, AdsPerAdGroup: 10})
	tasks := c.ReportTasks(tiktok.ReportTaskOptions{
		Limiter:      tiktok.NewLimiter(tiktok.LimiterConfig{QPS: -1, QPM: -1}),
		PollInterval: time.Millisecond, MaxPollInterval: time.Millisecond,
	})
	adv := srv.AdvertiserIDs()[0]
	q := tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 1, 1), End: date(2024, 1, 30)}
	want, err := srv.Truth(adv, q.Level, q.Granularity, q.Start, q.End) // warms the cache
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	count := func(n *int) func(tiktok.ReportPage) error {
		return func(p tiktok.ReportPage) error { *n += len(p.Rows); return nil }
	}
	measure := func(pull func() int) (time.Duration, uint64) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		if n := pull(); n != len(want) {
			b.Fatalf("%d rows, want %d", n, len(want))
		}
		d := time.Since(start)
		runtime.ReadMemStats(&m1)
		return d, m1.TotalAlloc - m0.TotalAlloc
	}
	var syncTime, taskTime time.Duration
	var syncBytes, taskBytes uint64
	runs := 0
	for b.Loop() {
		d, by := measure(func() int {
			n := 0
			if _, err := c.StreamReport(ctx, q, count(&n)); err != nil {
				b.Fatal(err)
			}
			return n
		})
		syncTime, syncBytes = syncTime+d, syncBytes+by
		d, by = measure(func() int {
			n := 0
			task, _, err := tasks.Create(ctx, q)
			if err == nil {
				_, err = tasks.Wait(ctx, task)
			}
			if err == nil {
				_, err = tasks.Download(ctx, task, count(&n))
			}
			if err != nil {
				b.Fatal(err)
			}
			return n
		})
		taskTime, taskBytes = taskTime+d, taskBytes+by
		runs++
	}
	rows := float64(runs * len(want))
	b.ReportMetric(rows/syncTime.Seconds(), "sync_rows/s")
	b.ReportMetric(rows/taskTime.Seconds(), "task_rows/s")
	b.ReportMetric(syncTime.Seconds()/taskTime.Seconds(), "task/sync_rate")
	b.ReportMetric(float64(syncBytes)/rows, "sync_B/row")
	b.ReportMetric(float64(taskBytes)/rows, "task_B/row")
	b.ReportMetric(float64(len(want)), "rows/window")
}

// TestReportTaskFileStall: a file transfer that stops sending is given up
// after the client's timeout of silence, as incomplete, so the caller can
// download it again instead of hanging.
func TestReportTaskFileStall(t *testing.T) {
	stall := &fileServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/files/x.csv", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ad_id,stat_time_day,spend\n1,2024-05-01,1.00\n")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done() // then nothing more
	})
	mux.Handle("/", stall)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	opts := testOptions(srv.URL+tiktoksim.BasePath, "tok-123456")
	opts.Timeout = 200 * time.Millisecond
	c := newClient(t, opts)
	q := tiktok.ReportQuery{AdvertiserID: "42", Level: tiktok.LevelAd, Granularity: tiktok.Daily, Start: date(2024, 5, 1), End: date(2024, 5, 1), Metrics: []string{"spend"}}
	_, _, err := pullTask(context.Background(), fastTasks(c), q)
	if !errors.Is(err, tiktok.ErrReportFileIncomplete) || !errors.Is(err, tiktok.ErrTimeout) {
		t.Fatalf("stalled file: %v, want ErrReportFileIncomplete and ErrTimeout", err)
	}
}
