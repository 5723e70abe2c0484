package extract

// ErrNotReturned lets the external tests classify the error of an
// advertiser advertiser/info left out.
var ErrNotReturned = errNotReturned
