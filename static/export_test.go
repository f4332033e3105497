package static

// GzipRuns is how many files have been gzipped since the program started.
func GzipRuns() int32 { return gzipRuns.Load() }
