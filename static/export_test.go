package static

// CompressRuns is how many times a file has been compressed, once per
// encoding, since the program started.
func CompressRuns() int32 { return compressRuns.Load() }
