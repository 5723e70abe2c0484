package tiktok

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/http"
)

// ReportSummary describes a completed report stream.
type ReportSummary struct {
	Pages       int
	Rows        int
	TotalNumber int
	Stats       Stats // API traffic of this report, including retries
}

// StreamReport pulls every page of the report window and hands each decoded
// page to fn as it arrives, so that callers never hold a whole account in
// memory. fn may keep the page's rows. If fn returns an error the stream stops
// and returns it.
//
// The window is first validated against TikTok's caps. A 40067 "query too
// large" comes back promptly as ErrQueryTooLarge so the caller can shrink the
// window or use a report task; a page carrying the X-Tt-Ads-Throttle header
// (the account has too many ads and TikTok truncated the report) returns
// ErrReportTruncated; a report that changes while being paged returns ErrPaginationDrift,
// after which the pages already delivered for this window must be discarded
// and the window pulled again.
func (c *Client) StreamReport(ctx context.Context, q ReportQuery, fn func(ReportPage) error) (ReportSummary, error) {
	var sum ReportSummary
	if err := q.Validate(); err != nil {
		return sum, err
	}
	loc := q.Location
	if loc == nil {
		var err error
		if loc, err = c.AdvertiserLocation(ctx, q.AdvertiserID); err != nil {
			return sum, err
		}
	}
	pageSize := q.PageSize
	if pageSize == 0 {
		pageSize = c.opts.PageSize
	}
	opts := DecodeOptions{AdvertiserID: q.AdvertiserID, Level: q.Level, Granularity: q.Granularity, Location: loc}
	const path = "report/integrated/get"
	seen := newKeySet()
	for page := 1; ; page++ {
		res, err := c.do(ctx, call{method: http.MethodGet, path: path, advertiserID: q.AdvertiserID, query: q.Params(page, pageSize)})
		sum.Stats = sum.Stats.Add(res.stats)
		if err != nil {
			return sum, err
		}
		if warning := res.header.Get(AdsThrottleHeader); warning != "" {
			// TikTok kept only the most recent ads: loading this would look
			// complete and be wrong. Nothing of the page reaches fn.
			return sum, &ReportTruncatedError{Query: q, Page: page, Warning: warning, RequestID: res.requestID}
		}
		p, err := decodeReportData(res.data, res.tape, opts)
		// Rows hold copies, never slices of the body.
		res.release()
		if err != nil {
			return sum, fmt.Errorf("tiktok: %s page %d for advertiser %s (request_id %s): %w", path, page, q.AdvertiserID, res.requestID, err)
		}
		p.RequestID = res.requestID
		if err := checkPage(path, page, pageSize, &p.PageInfo, len(p.Rows), sum.TotalNumber, sum.Rows); err != nil {
			return sum, err
		}
		sum.TotalNumber = p.PageInfo.TotalNumber
		for i := range p.Rows {
			if !seen.admit(&p.Rows[i], loc) {
				return sum, &PaginationDriftError{Path: path, Page: page, Reason: fmt.Sprintf("row %s repeated from an earlier page", p.Rows[i].Key())}
			}
		}
		sum.Pages++
		sum.Rows += len(p.Rows)
		if err := fn(p); err != nil {
			return sum, err
		}
		if page >= p.PageInfo.TotalPage || len(p.Rows) == 0 {
			if sum.Rows != sum.TotalNumber {
				return sum, &PaginationDriftError{Path: path, Page: page, Reason: fmt.Sprintf("received %d rows, total_number is %d", sum.Rows, sum.TotalNumber)}
			}
			return sum, nil
		}
	}
}

// checkPage validates page_info against the previous pages. A first page
// without any page_info (as in some fixtures) is taken as the only page.
func checkPage(path string, page, pageSize int, pi *PageInfo, n, prevTotal, prevRows int) error {
	if page == 1 && *pi == (PageInfo{}) {
		*pi = PageInfo{Page: 1, PageSize: pageSize, TotalNumber: n, TotalPage: 1}
	}
	if pi.TotalNumber < 0 || pi.TotalPage < 0 || n > pageSize {
		return &PaginationDriftError{Path: path, Page: page, Reason: fmt.Sprintf("inconsistent page_info %+v with %d rows", *pi, n)}
	}
	if page > 1 && pi.TotalNumber != prevTotal {
		return &PaginationDriftError{Path: path, Page: page, Reason: fmt.Sprintf("total_number changed from %d to %d", prevTotal, pi.TotalNumber)}
	}
	if prevRows+n > pi.TotalNumber {
		return &PaginationDriftError{Path: path, Page: page, Reason: fmt.Sprintf("%d rows so far exceed total_number %d", prevRows+n, pi.TotalNumber)}
	}
	return nil
}

// keySet remembers row keys as 64-bit hashes, so a window of a large account
// costs 8 bytes a row rather than the keys themselves.
type keySet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newKeySet() *keySet { return &keySet{seed: maphash.MakeSeed(), m: make(map[uint64]struct{})} }

// add records the key and reports whether it was new.
func (s *keySet) add(id string, d Date, hour int) bool {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(id)
	h.WriteByte(0)
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(d.Year>>8), byte(d.Year), byte(d.Month), byte(d.Day)
	h.Write(b[:])
	h.WriteByte(byte(hour))
	k := h.Sum64()
	if _, dup := s.m[k]; dup {
		return false
	}
	s.m[k] = struct{}{}
	return true
}
