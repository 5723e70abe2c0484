package tiktoksim

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// apiPost sends a JSON POST to the simulator and decodes the envelope.
func apiPost(t *testing.T, h http.Handler, path string, body any, token string) (code int, msg string, data json.RawMessage) {
	t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
	req.Header.Set("Access-Token", token)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var env struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s: %v: %s", path, err, w.Body.String())
	}
	return env.Code, env.Message, env.Data
}

// taskBody is a valid task for advertiser adv, changed by mod.
func taskBody(adv string, mod func(map[string]any)) map[string]any {
	b := map[string]any{
		"advertiser_id": adv, "report_type": "BASIC", "service_type": "AUCTION", "data_level": "AUCTION_CAMPAIGN",
		"dimensions": []string{"campaign_id", "stat_time_day"}, "metrics": []string{"spend", "impressions", "campaign_name"},
		"start_date": "2024-01-01", "end_date": "2024-02-14", "output_format": "CSV_DOWNLOAD", "file_name": "x",
		"enable_report_title_translation": false,
	}
	if mod != nil {
		mod(b)
	}
	return b
}

func createTask(t *testing.T, s *Server, body map[string]any) string {
	t.Helper()
	code, msg, data := apiPost(t, s, BasePath+"report/task/create/", body, s.AccessToken())
	var d struct {
		TaskID string `json:"task_id"`
	}
	if code != 0 || json.Unmarshal(data, &d) != nil || d.TaskID == "" {
		t.Fatalf("create: %d %s %s", code, msg, data)
	}
	return d.TaskID
}

func check(t *testing.T, s *Server, adv, id string) (code int, status string) {
	t.Helper()
	code, msg, data, _ := apiGet(t, s, BasePath+"report/task/check/", url.Values{"advertiser_id": {adv}, "task_id": {id}}, s.AccessToken())
	var d struct {
		Status string `json:"status"`
	}
	if code == 0 && json.Unmarshal(data, &d) != nil {
		t.Fatalf("check: %s", msg)
	}
	return code, d.Status
}

func download(t *testing.T, s *Server, adv, id string) (code int, fileURL string) {
	t.Helper()
	code, _, data, _ := apiGet(t, s, BasePath+"report/task/download/", url.Values{"advertiser_id": {adv}, "task_id": {id}}, s.AccessToken())
	var d struct {
		URL string `json:"download_url"`
	}
	_ = json.Unmarshal(data, &d)
	return code, d.URL
}

func getFile(s *Server, u string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
	return w
}

// TestTaskLifecycle follows a task through the documented statuses: QUEUING,
// PROCESSING, SUCCESS; the download answers 40201 before, then a signed URL
// whose file is the report of the task's whole range (longer than the
// synchronous cap), with untranslated titles and deleted entities; tampered
// or expired URLs are refused, and a finished task cannot be cancelled.
func TestTaskLifecycle(t *testing.T) {
	s := New(Config{Seed: 2, Tasks: TaskConfig{ProcessingChecks: 3}})
	adv := s.AdvertiserIDs()[0]
	id := createTask(t, s, taskBody(adv, nil))
	if code, _ := download(t, s, adv, id); code != tiktok.CodeTaskNotReady {
		t.Errorf("download before the end: code %d, want 40201", code)
	}
	var seen []string
	for range 5 {
		code, st := check(t, s, adv, id)
		if code != 0 {
			t.Fatalf("check code %d", code)
		}
		seen = append(seen, st)
	}
	if want := []string{"QUEUING", "PROCESSING", "PROCESSING", "SUCCESS", "SUCCESS"}; !slices.Equal(seen, want) {
		t.Errorf("statuses %v, want %v", seen, want)
	}
	if code, msg, _ := apiPost(t, s, BasePath+"report/task/cancel/", map[string]string{"advertiser_id": adv, "task_id": id}, s.AccessToken()); code != tiktok.CodeParamError || !strings.Contains(msg, "SUCCESS") {
		t.Errorf("cancelling a finished task: %d %s", code, msg)
	}
	code, u := download(t, s, adv, id)
	if code != 0 || !strings.Contains(u, FilesPath+id+"?expire=") {
		t.Fatalf("download: %d %q", code, u)
	}
	w := getFile(s, u)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("file: HTTP %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"campaign_id", "stat_time_day", "spend", "impressions", "campaign_name"}; !slices.Equal(recs[0], want) {
		t.Errorf("header %v, want %v", recs[0], want)
	}
	truth, err := s.TruthQuery(tiktok.ReportQuery{AdvertiserID: adv, Level: tiktok.LevelCampaign, Granularity: tiktok.Daily,
		Start: tiktok.NewDate(2024, 1, 1), End: tiktok.NewDate(2024, 2, 14), Metrics: []string{"spend", "impressions", "campaign_name"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(truth) || len(truth) == 0 {
		t.Fatalf("%d file rows, truth has %d", len(recs)-1, len(truth))
	}
	for i, r := range truth {
		spend, _ := r.Metrics.Text("spend")
		imp, _ := r.Metrics.Text("impressions")
		want := []string{r.EntityID, r.Date.String() + " 00:00:00", spend, imp, r.Metrics.Extra["campaign_name"]}
		if !slices.Equal(recs[i+1], want) {
			t.Fatalf("file row %d %v, truth %v", i+1, recs[i+1], want)
		}
	}

	tampered := strings.Replace(u, "sign=", "sign=0", 1)
	if w := getFile(s, tampered); w.Code != http.StatusForbidden {
		t.Errorf("tampered URL: HTTP %d", w.Code)
	}
	s.Advance(61 * time.Minute)
	if w := getFile(s, u); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "expired") {
		t.Errorf("URL after an hour: HTTP %d %s", w.Code, w.Body.String())
	}
	if _, fresh := download(t, s, adv, id); getFile(s, fresh).Code != http.StatusOK {
		t.Error("a fresh URL does not work")
	}
	if code, _ := check(t, s, s.AdvertiserIDs()[1], id); code != tiktok.CodeParamError {
		t.Errorf("another advertiser's check of the task: code %d", code) // refused, not counted
	}
	st := s.TaskStats()
	if st.Created != 1 || st.URLs != 2 || st.Files != 2 || st.NotReady != 1 || st.Checks != 5 {
		t.Errorf("stats %+v", st)
	}
}

// TestTaskModes covers the configurable failure modes and the request
// checks: FAILED tasks, cancellation, not-ready downloads, the allowlist,
// the create rate limit, translated titles, CSV_STRING and refused filters.
func TestTaskModes(t *testing.T) {
	t.Run("failed", func(t *testing.T) {
		s := New(Config{Tasks: TaskConfig{FailRate: 1, ProcessingChecks: -1}})
		adv := s.AdvertiserIDs()[0]
		id := createTask(t, s, taskBody(adv, nil))
		if _, st := check(t, s, adv, id); st != "FAILED" {
			t.Fatalf("status %s", st)
		}
		if code, _ := download(t, s, adv, id); code != tiktok.CodeTaskError {
			t.Errorf("download of a failed task: code %d, want 40200", code)
		}
		check(t, s, adv, id)
		if st := s.TaskStats(); st.Failed != 1 {
			t.Errorf("failed counted %d times", st.Failed)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		s := New(Config{})
		adv := s.AdvertiserIDs()[0]
		id := createTask(t, s, taskBody(adv, nil))
		code, _, data := apiPost(t, s, BasePath+"report/task/cancel/", map[string]string{"advertiser_id": adv, "task_id": id}, s.AccessToken())
		if code != 0 || !strings.Contains(string(data), "CANCELED") {
			t.Fatalf("cancel: %d %s", code, data)
		}
		if _, st := check(t, s, adv, id); st != "CANCELED" {
			t.Errorf("status after cancel %s", st)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		s := New(Config{Tasks: TaskConfig{NotReadyDownloads: 2, ProcessingChecks: -1}})
		adv := s.AdvertiserIDs()[0]
		id := createTask(t, s, taskBody(adv, nil))
		check(t, s, adv, id)
		var codes []int
		for range 3 {
			code, _ := download(t, s, adv, id)
			codes = append(codes, code)
		}
		if want := []int{tiktok.CodeTaskNotReady, tiktok.CodeTaskNotReady, 0}; !slices.Equal(codes, want) {
			t.Errorf("download codes %v, want %v", codes, want)
		}
	})
	t.Run("not allowlisted", func(t *testing.T) {
		s := New(Config{Tasks: TaskConfig{Disabled: true}})
		if code, msg, _ := apiPost(t, s, BasePath+"report/task/create/", taskBody(s.AdvertiserIDs()[0], nil), s.AccessToken()); code != tiktok.CodeNoPermission || !strings.Contains(msg, "allowlist") {
			t.Errorf("create: %d %s", code, msg)
		}
	})
	t.Run("create rate", func(t *testing.T) {
		s := New(Config{Tasks: TaskConfig{CreateQPS: 1}})
		adv := s.AdvertiserIDs()[0]
		createTask(t, s, taskBody(adv, nil))
		if code, _, _ := apiPost(t, s, BasePath+"report/task/create/", taskBody(adv, nil), s.AccessToken()); code != tiktok.CodeRateLimited {
			t.Errorf("second create within a second: code %d, want 40100", code)
		}
	})
	t.Run("translated titles and CSV_STRING", func(t *testing.T) {
		s := New(Config{Tasks: TaskConfig{ProcessingChecks: -1}})
		adv := s.AdvertiserIDs()[0]
		id := createTask(t, s, taskBody(adv, func(b map[string]any) {
			delete(b, "enable_report_title_translation")
			delete(b, "output_format")
		}))
		check(t, s, adv, id)
		req := httptest.NewRequest(http.MethodGet, BasePath+"report/task/download/?advertiser_id="+adv+"&task_id="+id, nil)
		req.Header.Set("Access-Token", s.AccessToken())
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		head, _, _ := strings.Cut(w.Body.String(), "\n")
		if w.Code != http.StatusOK || head != "Campaign ID,Date,Cost,Impression,Campaign Name" {
			t.Errorf("CSV_STRING download: HTTP %d, header %q", w.Code, head)
		}
	})
	t.Run("request checks", func(t *testing.T) {
		s := New(Config{})
		adv := s.AdvertiserIDs()[0]
		for name, mod := range map[string]func(map[string]any){
			"status filter": func(b map[string]any) {
				b["filtering"] = []map[string]string{{"field_name": "campaign_status", "filter_type": "IN", "filter_value": `["STATUS_ALL"]`}}
			},
			"file name":   func(b map[string]any) { b["file_name"] = "a/b" },
			"xlsx":        func(b map[string]any) { b["output_format"] = "XLSX_DOWNLOAD" },
			"data level":  func(b map[string]any) { b["data_level"] = "AUCTION_AD" },
			"bad metric":  func(b map[string]any) { b["metrics"] = []string{"spend", "nope"} },
			"no end date": func(b map[string]any) { delete(b, "end_date") },
		} {
			if code, msg, _ := apiPost(t, s, BasePath+"report/task/create/", taskBody(adv, mod), s.AccessToken()); code != tiktok.CodeParamError {
				t.Errorf("%s: code %d %s, want 40002", name, code, msg)
			}
		}
		if st := s.TaskStats(); st.Created != 0 {
			t.Errorf("%d tasks created from bad requests", st.Created)
		}
	})
}

// TestSyncTruncationKeepsRecentAds: past SyncMaxAds the synchronous report
// serves only the most recently created ads and says so in a header; below
// it, nothing changes.
func TestSyncTruncationKeepsRecentAds(t *testing.T) {
	cfg := Config{Seed: 3, Advertisers: 1, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 2, AdsPerAdGroup: 3}
	full := New(cfg)
	cfg.SyncMaxAds = 5
	cut := New(cfg)
	adv := full.AdvertiserIDs()[0]
	q := reportQuery(adv, tiktok.LevelAd, tiktok.Daily, "2024-01-01", "2024-01-30")
	q.Set("filtering", `[{"field_name":"ad_status","filter_type":"IN","filter_value":"[\"STATUS_ALL\"]"}]`)
	ids := func(s *Server) (map[string]bool, string) {
		req := httptest.NewRequest(http.MethodGet, BasePath+"report/integrated/get/?"+q.Encode(), nil)
		req.Header.Set("Access-Token", s.AccessToken())
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		page, err := tiktok.DecodeReport(w.Body.Bytes(), tiktok.DecodeOptions{Level: tiktok.LevelAd})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range page.Rows {
			out[r.EntityID] = true
		}
		return out, w.Header().Get(tiktok.AdsThrottleHeader)
	}
	all, h := ids(full)
	if h != "" || len(all) < 8 {
		t.Fatalf("untruncated: %d ads, header %q", len(all), h)
	}
	kept, h := ids(cut)
	if !strings.Contains(h, "equal or more than 5") || len(kept) == 0 || len(kept) > 5 {
		t.Fatalf("truncated: %d ads, header %q", len(kept), h)
	}
	// The kept ads are the 5 most recently created of the 12 (all exist at
	// the clock; an ad is created no earlier than its campaign and ad group):
	// those with rows in the full report, and no other.
	type ad struct {
		id      string
		created time.Time
	}
	var ads []ad
	for c := range 2 {
		for g := range 2 {
			for d := range 3 {
				l := full.lifetimeOf(kindAd, ref{0, c, g, d})
				if l.created.After(full.Now()) {
					t.Fatal("an ad is created after the clock; the test needs them all")
				}
				ads = append(ads, ad{adID(0, c, g, d), l.created})
			}
		}
	}
	slices.SortFunc(ads, func(a, b ad) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id) // ties (an ad created with its campaign): the higher ID first
	})
	newest := map[string]bool{}
	for _, a := range ads[:5] {
		newest[a.id] = true
		if all[a.id] && !kept[a.id] {
			t.Errorf("ad %s is among the 5 newest but was dropped", a.id)
		}
	}
	for id := range kept {
		if !newest[id] {
			t.Errorf("ad %s was kept but is not among the 5 newest", id)
		}
	}
}
