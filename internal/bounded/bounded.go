// Package bounded keeps maps used as caches within a size.
package bounded

// Put sets m[k] to v. When k is new and m already holds max entries, it
// first deletes one other entry, the first that ranging over m yields.
// Go starts each range at a random place, so that is an entry taken at
// random: under more keys than max, every key has the same chance to stay,
// and keys that come back in the order they came (a crowd of buyers, each
// once again) still find about max of every len(keys) kept. Starting the
// map over when it is full, or evicting the least recently used, finds
// none of them.
func Put[K comparable, V any](m map[K]V, k K, v V, max int) {
	if _, ok := m[k]; !ok && len(m) >= max {
		for old := range m {
			delete(m, old)
			break
		}
	}
	m[k] = v
}
