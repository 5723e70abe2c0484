package queries

// BeforeStep makes a refresh call f before each step of a month's rebuild and
// stop with f's error (the other month being rebuilt ends after its current
// step): tests end a refresh at every step.
func BeforeStep(o RefreshOptions, f func(step string) error) RefreshOptions {
	o.beforeStep = f
	return o
}
