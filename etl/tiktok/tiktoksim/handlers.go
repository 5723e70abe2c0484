package tiktoksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// apiError is an error answered in TikTok's envelope (HTTP 200).
type apiError struct {
	code int
	msg  string
}

func errParam(format string, args ...any) *apiError {
	return &apiError{code: tiktok.CodeParamError, msg: fmt.Sprintf(format, args...)}
}

// endpoint is a routed API path.
type endpoint struct {
	method    string
	needToken bool
	handle    func(s *Server, r *request) (data []byte, err *apiError)
}

var endpoints = map[string]endpoint{
	"oauth2/access_token/":   {http.MethodPost, false, (*Server).handleAccessToken},
	"oauth2/advertiser/get/": {http.MethodGet, true, (*Server).handleAuthorizedAdvertisers},
	"advertiser/info/":       {http.MethodGet, true, (*Server).handleAdvertiserInfo},
	"campaign/get/":          {http.MethodGet, true, (*Server).handleCampaigns},
	"adgroup/get/":           {http.MethodGet, true, (*Server).handleAdGroups},
	"ad/get/":                {http.MethodGet, true, (*Server).handleAds},
	"report/integrated/get/": {http.MethodGet, true, (*Server).handleReport},
	"report/task/create/":    {http.MethodPost, true, (*Server).handleTaskCreate},
	"report/task/check/":     {http.MethodGet, true, (*Server).handleTaskCheck},
	"report/task/download/":  {http.MethodGet, true, (*Server).handleTaskDownload},
	"report/task/cancel/":    {http.MethodPost, true, (*Server).handleTaskCancel},
}

// request is a parsed API request.
type request struct {
	http  *http.Request
	path  string
	query url.Values
	body  []byte
	now   time.Time
	drift bool // inject pagination drift into this page
	// throttle, when set, is sent as the X-Tt-Ads-Throttle header.
	throttle string
	// raw, when set, writes the answer instead of an envelope (a task's
	// CSV_STRING file).
	raw func(http.ResponseWriter)
}

// ServeHTTP routes API requests under BasePath, the authorisation portal
// page at /portal/auth and report task files under FilesPath.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	if hr.URL.Path == "/portal/auth" {
		s.countPath("portal/auth")
		s.handlePortal(w, hr)
		return
	}
	if strings.HasPrefix(hr.URL.Path, FilesPath) {
		// A download host: no token, no app limit, no API faults.
		s.countPath("report-files")
		s.serveFile(w, hr)
		return
	}
	path, ok := strings.CutPrefix(hr.URL.Path, BasePath)
	ep, known := endpoints[path]
	if !ok || !known {
		// Production answers a missing trailing slash with a plain 404.
		s.countPath("404")
		s.countAnswer("404", "http 404")
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	s.countPath(path)
	if hr.Method != ep.method {
		s.countAnswer(path, "http 405")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	now := time.Now()
	if !s.limit.allow(now) {
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeRateLimited, msg: msgAppLimit}, faultNone)
		return
	}
	if ep.needToken {
		tok := hr.Header.Get(tiktok.AccessTokenHeader)
		switch {
		case tok == "":
			s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeTokenEmpty,
				msg: "Access token is null, you should set it in http header with key Access-Token."}, faultNone)
			return
		case tok != s.cfg.AccessToken:
			s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeTokenInvalid,
				msg: "Access token is incorrect or has been revoked."}, faultNone)
			return
		}
	}
	// A limit episode in progress answers every request of the app alike.
	if kind, ok := s.faults.inEpisode(now); ok {
		s.faults.count(kind)
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeRateLimited, msg: msgAppLimit}, faultNone)
		return
	}
	r := &request{http: hr, path: path, query: hr.URL.Query(), body: body, now: s.Now()}

	// Fault injection, decided per (request, attempt).
	key := hashString(hr.Method + " " + path + "?" + r.query.Encode() + "\x00" + string(body))
	cfg, u, h2 := s.faults.draw(key)
	f := pick(cfg, u)
	s.faults.count(f)
	if cfg.SlowRate > 0 && float64(h2>>11)/(1<<53) < cfg.SlowRate {
		s.faults.slow.Add(1)
		select {
		case <-time.After(cfg.SlowDelay):
		case <-hr.Context().Done():
			return
		}
	}
	switch f {
	case faultRateLimit:
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeRateLimited, msg: "Too many requests. Please retry in some time."}, faultNone)
		return
	case faultSecondLimit, faultMinuteLimit:
		s.faults.startEpisode(f, now, cfg)
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeRateLimited, msg: msgAppLimit}, faultNone)
		return
	case faultTooFrequent:
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeTooFrequent, msg: "Requests made too frequently."}, faultNone)
		return
	case faultAdvLimit:
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeAdvertiserRateLimited, msg: "The advertiser's requests exceed the limit. Please retry later."}, faultNone)
		return
	case faultSystem:
		code := tiktok.CodeSystemError
		if h2&1 == 1 {
			code = tiktok.CodeProcessingError
		}
		s.writeEnvelope(w, path, nil, &apiError{code: code, msg: "System error, please try again later."}, faultNone)
		return
	case faultMaintenance:
		s.writeEnvelope(w, path, nil, &apiError{code: tiktok.CodeMaintenance, msg: "The system is under maintenance."}, faultNone)
		return
	case faultHTTP:
		status := []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}[h2%3]
		s.countAnswer(path, fmt.Sprintf("http %d", status))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center></body></html>\n",
			status, http.StatusText(status), status, http.StatusText(status))
		return
	case faultTimeout:
		s.countAnswer(path, "hang")
		select {
		case <-hr.Context().Done():
		case <-time.After(cfg.HangFor):
		}
		return
	}
	if cfg.DriftRate > 0 && float64(mix(h2)>>11)/(1<<53) < cfg.DriftRate {
		r.drift = true
	}
	data, aerr := ep.handle(s, r)
	if r.throttle != "" && aerr == nil {
		w.Header().Set(tiktok.AdsThrottleHeader, r.throttle)
	}
	if r.raw != nil && aerr == nil {
		r.raw(w)
		return
	}
	s.writeEnvelope(w, path, data, aerr, f)
}

// msgAppLimit is the message of a 40100 from the app's QPS/QPM limits. It
// does not say which limit was hit: neither does TikTok's.
const msgAppLimit = "The number of requests from your app has exceeded the limit (QPS/QPM). Please retry later."

// writeEnvelope writes TikTok's envelope, HTTP 200 in every case, applying a
// body fault if one was drawn.
func (s *Server) writeEnvelope(w http.ResponseWriter, path string, data []byte, aerr *apiError, f fault) {
	var b bytes.Buffer
	b.Grow(len(data) + 128)
	code, msg := 0, "OK"
	if aerr != nil {
		code, msg = aerr.code, aerr.msg
	}
	b.WriteString(`{"code":`)
	b.WriteString(strconv.Itoa(code))
	b.WriteString(`,"message":`)
	writeJSONString(&b, msg)
	b.WriteString(`,"request_id":"`)
	b.WriteString(s.requestID())
	b.WriteString(`","data":`)
	if aerr != nil || len(data) == 0 {
		b.WriteString("{}")
	} else {
		b.Write(data)
	}
	b.WriteString("}")
	out := b.Bytes()
	switch f {
	case faultTruncate:
		s.countAnswer(path, "truncated")
	case faultMalformed:
		s.countAnswer(path, "malformed")
	default:
		s.countAnswer(path, "code "+strconv.Itoa(code))
	}
	w.Header().Set("Content-Type", "application/json")
	switch f {
	case faultTruncate:
		out = out[:len(out)/2]
	case faultMalformed:
		if len(out)%2 == 0 {
			w.Header().Set("Content-Type", "text/html")
			out = []byte("<html><body><h1>Service Unavailable</h1>upstream connect error</body></html>")
		} else {
			out = append([]byte(`{"code":0,"message":"OK","data":{"list":[{"dimensions":`), 0xff, '}', ']')
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (s *Server) requestID() string {
	n := s.seq.Add(1)
	return s.Now().UTC().Format("20060102150405") + strings.ToUpper(strconv.FormatUint(mix(s.seed^n)&0xffffffffffff, 16))
}

func writeJSONString(b *bytes.Buffer, v string) {
	enc, _ := json.Marshal(v)
	b.Write(enc)
}

// --- OAuth ---------------------------------------------------------------

func (s *Server) handlePortal(w http.ResponseWriter, hr *http.Request) {
	q := hr.URL.Query()
	if q.Get("app_id") != s.cfg.AppID {
		http.Error(w, "unknown app_id", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	rq := redirect.Query()
	rq.Set("auth_code", s.cfg.AuthCode)
	rq.Set("code", s.cfg.AuthCode)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, hr, redirect.String(), http.StatusFound)
}

func (s *Server) handleAccessToken(r *request) ([]byte, *apiError) {
	var body struct {
		AppID    string `json:"app_id"`
		Secret   string `json:"secret"`
		AuthCode string `json:"auth_code"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return nil, &apiError{code: tiktok.CodeInvalidParams, msg: "Invalid JSON body."}
	}
	switch {
	case body.AppID == "" || body.Secret == "" || body.AuthCode == "":
		return nil, errParam("app_id, secret and auth_code are required.")
	case body.AppID != s.cfg.AppID:
		return nil, &apiError{code: tiktok.CodeAppBlocked, msg: "App does not exist or the app_id does not match."}
	case body.Secret != s.cfg.Secret:
		return nil, &apiError{code: tiktok.CodeNoPermission, msg: "App secret is invalid."}
	case body.AuthCode != s.cfg.AuthCode:
		return nil, &apiError{code: tiktok.CodeAuthCodeInvalid, msg: "Auth code is invalid or has expired."}
	}
	out, _ := json.Marshal(map[string]any{
		"access_token":   s.cfg.AccessToken,
		"advertiser_ids": s.AdvertiserIDs(),
		"scope":          []int{4, 5, 6},
	})
	return out, nil
}

func (s *Server) handleAuthorizedAdvertisers(r *request) ([]byte, *apiError) {
	if r.query.Get("app_id") != s.cfg.AppID || r.query.Get("secret") != s.cfg.Secret {
		return nil, &apiError{code: tiktok.CodeNoPermission, msg: "App id or secret is invalid."}
	}
	type item struct {
		AdvertiserID   string `json:"advertiser_id"`
		AdvertiserName string `json:"advertiser_name"`
	}
	list := make([]item, len(s.advs))
	for i, a := range s.advs {
		list[i] = item{a.id, a.name}
	}
	out, _ := json.Marshal(map[string]any{"list": list})
	return out, nil
}

// --- advertiser/info -----------------------------------------------------

func (s *Server) handleAdvertiserInfo(r *request) ([]byte, *apiError) {
	var ids []string
	if err := json.Unmarshal([]byte(r.query.Get("advertiser_ids")), &ids); err != nil || len(ids) == 0 {
		return nil, errParam("advertiser_ids: a JSON array of advertiser IDs is required.")
	}
	if len(ids) > 100 {
		return nil, &apiError{code: tiktok.CodeTooManyIDs, msg: "advertiser_ids: at most 100 IDs are allowed."}
	}
	var b bytes.Buffer
	b.WriteString(`{"list":[`)
	n := 0
	for _, id := range ids {
		i := s.parseAdvertiserID(id)
		if i < 0 {
			return nil, &apiError{code: tiktok.CodeNoPermission, msg: fmt.Sprintf("No permission to operate advertiser %s.", id)}
		}
		a := s.advs[i]
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		obj := map[string]any{
			"advertiser_id": a.id, "name": a.name, "currency": a.prof.currency,
			"timezone": a.prof.tz, "display_timezone": a.prof.displayTZ, "country": a.prof.country,
			"status": "STATUS_ENABLE", "role": "ROLE_ADVERTISER", "create_time": a.created.Unix(),
			"balance": json.Number("1000.00"), "company": "Sim Co", "advertiser_account_type": "AUCTION",
		}
		enc, _ := json.Marshal(obj)
		b.Write(enc)
	}
	b.WriteString(`]}`)
	return b.Bytes(), nil
}

// --- entities --------------------------------------------------------------

// entityFilter parses the filtering object of entity endpoints. Deleted
// entities are hidden unless secondary_status is <PREFIX>_STATUS_ALL.
func entityFilter(q url.Values, prefix string) (withDeleted bool, ids map[string]bool, aerr *apiError) {
	raw := q.Get("filtering")
	if raw == "" {
		return false, nil, nil
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return false, nil, errParam("filtering: invalid JSON.")
	}
	for k, v := range f {
		switch {
		case k == "secondary_status":
			var st string
			if err := json.Unmarshal(v, &st); err != nil {
				return false, nil, errParam("filtering.secondary_status: must be a string.")
			}
			switch st {
			case prefix + "_STATUS_ALL":
				withDeleted = true
			case prefix + "_STATUS_NOT_DELETE":
			default:
				return false, nil, errParam("filtering.secondary_status: unsupported value %s.", st)
			}
		case strings.HasSuffix(k, "_ids"):
			var list []string
			if err := json.Unmarshal(v, &list); err != nil {
				return false, nil, errParam("filtering.%s: must be an array of strings.", k)
			}
			ids = make(map[string]bool, len(list))
			for _, id := range list {
				ids[id] = true
			}
		default:
			return false, nil, errParam("filtering: unsupported field %s.", k)
		}
	}
	return withDeleted, ids, nil
}

// paging parses page and page_size (default 1 and 10, page_size at most 1000).
func paging(q url.Values) (page, size int, aerr *apiError) {
	page, size = 1, 10
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errParam("page: must be a positive integer.")
		}
		page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > tiktok.MaxPageSize {
			return 0, 0, errParam("page_size: must be between 1 and 1000.")
		}
		size = n
	}
	return page, size, nil
}

// pageBounds returns the slice bounds of a page and the page_info values,
// applying drift (a row inserted before the page since page 1) if asked.
func pageBounds(total, page, size int, drift bool) (from, to, totalNumber, totalPage int) {
	totalNumber = total
	from = (page - 1) * size
	if drift && page > 1 {
		totalNumber++
		from--
	}
	totalPage = (totalNumber + size - 1) / size
	from = min(max(from, 0), total)
	to = min(from+size, total)
	return from, to, totalNumber, totalPage
}

func writePageInfo(b *bytes.Buffer, page, size, totalNumber, totalPage int) {
	fmt.Fprintf(b, `"page_info":{"page":%d,"page_size":%d,"total_number":%d,"total_page":%d}`, page, size, totalNumber, totalPage)
}

func (s *Server) advertiserParam(q url.Values) (*advertiser, *apiError) {
	id := q.Get("advertiser_id")
	if id == "" {
		return nil, errParam("advertiser_id: required.")
	}
	i := s.parseAdvertiserID(id)
	if i < 0 {
		return nil, &apiError{code: tiktok.CodeNoPermission, msg: fmt.Sprintf("No permission to operate advertiser %s.", id)}
	}
	return s.advs[i], nil
}

// entity is one listed campaign, ad group or ad.
type entity struct {
	kind byte
	ref  ref
	id   string
	life lifetime
}

// entities lists the advertiser's entities of a kind that exist at now.
func (s *Server) entities(a *advertiser, kind byte, now time.Time, withDeleted bool, ids map[string]bool) []entity {
	var out []entity
	c := s.cfg
	add := func(e entity) {
		if e.life.created.After(now) || (ids != nil && !ids[e.id]) {
			return
		}
		if !withDeleted && !e.life.deleted.IsZero() && !now.Before(e.life.deleted) {
			return
		}
		out = append(out, e)
	}
	for ci := 0; ci < c.CampaignsPerAdvertiser; ci++ {
		if kind == kindCampaign {
			r := ref{a.idx, ci, -1, -1}
			add(entity{kind, r, campaignID(a.idx, ci), s.lifetimeOf(kind, r)})
			continue
		}
		for g := 0; g < c.AdGroupsPerCampaign; g++ {
			if kind == kindAdGroup {
				r := ref{a.idx, ci, g, -1}
				add(entity{kind, r, adGroupID(a.idx, ci, g), s.lifetimeOf(kind, r)})
				continue
			}
			for d := 0; d < c.AdsPerAdGroup; d++ {
				r := ref{a.idx, ci, g, d}
				add(entity{kind, r, adID(a.idx, ci, g, d), s.lifetimeOf(kind, r)})
			}
		}
	}
	return out
}

func (s *Server) handleEntities(r *request, kind byte, prefix string) ([]byte, *apiError) {
	a, aerr := s.advertiserParam(r.query)
	if aerr != nil {
		return nil, aerr
	}
	withDeleted, ids, aerr := entityFilter(r.query, prefix)
	if aerr != nil {
		return nil, aerr
	}
	page, size, aerr := paging(r.query)
	if aerr != nil {
		return nil, aerr
	}
	list := s.entities(a, kind, r.now, withDeleted, ids)
	from, to, totalNumber, totalPage := pageBounds(len(list), page, size, r.drift)
	if r.drift && page > 1 {
		s.faults.drift.Add(1)
	}
	var b bytes.Buffer
	b.WriteString(`{"list":[`)
	for i, e := range list[from:to] {
		if i > 0 {
			b.WriteByte(',')
		}
		enc, _ := json.Marshal(s.entityJSON(a, e, r.now))
		b.Write(enc)
	}
	b.WriteString(`],`)
	writePageInfo(&b, page, size, totalNumber, totalPage)
	b.WriteString(`}`)
	return b.Bytes(), nil
}

func (s *Server) handleCampaigns(r *request) ([]byte, *apiError) {
	return s.handleEntities(r, kindCampaign, "CAMPAIGN")
}

func (s *Server) handleAdGroups(r *request) ([]byte, *apiError) {
	return s.handleEntities(r, kindAdGroup, "ADGROUP")
}

func (s *Server) handleAds(r *request) ([]byte, *apiError) {
	return s.handleEntities(r, kindAd, "AD")
}

// Names of simulated entities.
func campaignName(a, c int, objective string) string {
	return fmt.Sprintf("Sim Campaign %d-%d %s", a+1, c+1, objective)
}
func adGroupName(a, c, g int) string { return fmt.Sprintf("Sim Ad Group %d-%d-%d", a+1, c+1, g+1) }
func adName(a, c, g, d int) string   { return fmt.Sprintf("Sim Ad %d-%d-%d-%d", a+1, c+1, g+1, d+1) }

func entityTime(t time.Time) string { return t.UTC().Format(tiktok.TimeLayout) }

// modifyTime is the last change: the deletion if it happened, else a day
// after creation (or creation itself if that is in the future of now).
func modifyTime(l lifetime, now time.Time) time.Time {
	if !l.deleted.IsZero() && !now.Before(l.deleted) {
		return l.deleted
	}
	m := l.created.Add(24 * time.Hour)
	if m.After(now) {
		return l.created
	}
	return m
}

func (s *Server) entityJSON(a *advertiser, e entity, now time.Time) map[string]any {
	obj := s.campaignForRef(e.ref)
	var m map[string]any
	switch e.kind {
	case kindCampaign:
		op, sec := entityStatus(e.life, now, "CAMPAIGN")
		budget := json.Number(formatUnits(uint64(50+s.h(0xb0, uint64(e.ref.adv), uint64(e.ref.camp))%950)*100, 2))
		m = map[string]any{
			"campaign_id": e.id, "campaign_name": campaignName(e.ref.adv, e.ref.camp, obj),
			"objective_type": obj, "campaign_type": "REGULAR_CAMPAIGN", "budget_mode": "BUDGET_MODE_DAY",
			"budget": budget, "operation_status": op, "secondary_status": sec,
		}
	case kindAdGroup:
		op, sec := entityStatus(e.life, now, "ADGROUP")
		goal, billing := "CLICK", "CPC"
		switch obj {
		case objApp:
			goal, billing = "INSTALL", "OCPM"
		case objWeb:
			goal, billing = "CONVERT", "OCPM"
		}
		var end any
		if !e.life.deleted.IsZero() {
			end = entityTime(e.life.deleted)
		}
		m = map[string]any{
			"adgroup_id": e.id, "campaign_id": campaignID(e.ref.adv, e.ref.camp),
			"adgroup_name": adGroupName(e.ref.adv, e.ref.camp, e.ref.group), "budget_mode": "BUDGET_MODE_INFINITE",
			"budget": json.Number("0.0"), "optimization_goal": goal, "billing_event": billing,
			"placement_type": "PLACEMENT_TYPE_AUTOMATIC", "schedule_start_time": entityTime(e.life.created),
			"schedule_end_time": end, "operation_status": op, "secondary_status": sec,
		}
	default:
		op, sec := entityStatus(e.life, now, "AD")
		cta := "LEARN_MORE"
		switch obj {
		case objApp:
			cta = "INSTALL_NOW"
		case objWeb:
			cta = "SHOP_NOW"
		}
		m = map[string]any{
			"ad_id": e.id, "adgroup_id": adGroupID(e.ref.adv, e.ref.camp, e.ref.group),
			"campaign_id": campaignID(e.ref.adv, e.ref.camp), "ad_name": adName(e.ref.adv, e.ref.camp, e.ref.group, e.ref.ad),
			"ad_text":          fmt.Sprintf("Try Sim %d today", e.ref.ad+1),
			"landing_page_url": fmt.Sprintf("https://shop.example.com/p/%d?utm_source=tiktok&utm_campaign=%s", e.ref.ad+1, campaignID(e.ref.adv, e.ref.camp)),
			"call_to_action":   cta, "video_id": fmt.Sprintf("v10033g50000sim%012x", s.h(0x71d, hashString(e.id))&0xffffffffffff),
			"operation_status": op, "secondary_status": sec,
		}
	}
	m["advertiser_id"] = a.id
	m["create_time"] = entityTime(e.life.created)
	if e.kind == kindAd && s.h(0x5a, hashString(e.id))%20 == 0 {
		// Smart+ ads come without modify_time.
		m["modify_time"] = nil
	} else {
		m["modify_time"] = entityTime(modifyTime(e.life, now))
	}
	return m
}

func (s *Server) campaignForRef(r ref) string { return s.objective(r.adv, r.camp) }
