// Package sqlitedb is the database mechanism under the store on SQLite: a
// statement cache for the modernc driver and group commit of write
// transactions. It knows nothing of EventHive's tables; the store decides
// what to write, and this package how the writes reach SQLite's one write
// connection.
//
// # Statement cache
//
// Open returns a pool whose connections keep the statements they have
// prepared, so that each distinct statement is parsed and planned once per
// connection instead of on every call, inside transactions and across them.
// It guarantees:
//   - Each connection keeps at most 256 prepared statements and closes the
//     least recently used one beyond that.
//   - A statement whose rows are still open is neither reused nor closed: the
//     same query run meanwhile is prepared afresh by the driver and
//     finalized after it, as without the cache.
//   - Closing a connection finalizes its statements.
//   - The connection's own driver connection stays reachable through Unwrap,
//     as modernc asks of wrappers (sqlite.Limit looks for it).
//
// # Group commit
//
// A GroupCommit runs the writes that wait for the write connection at the
// same moment in one transaction. Run queues a write and waits. A goroutine
// of the GroupCommit's own, started by the first write that finds none
// under way, runs every write then queued, oldest first and at most 64,
// hands each its outcome, and goes on with the writes queued meanwhile until
// none wait. It guarantees:
//   - Each write runs inside a savepoint of its own, and sees the changes of
//     the writes before it in its batch. A write that returns an error or
//     panics is rolled back to its savepoint: it changes nothing, and the
//     other writes of its batch go on. A write alone in its batch runs as a
//     plain transaction without a savepoint.
//   - The River jobs that the batch's successful writes return are inserted
//     with one InsertManyTx of the given client, in the batch's transaction,
//     just before its commit; a failed write's jobs are not inserted. So a
//     job commits with its write or not at all.
//   - Run returns only once the batch's transaction has committed or
//     failed. nil means the write and its jobs are committed. When the
//     job insert, a savepoint statement or the commit fails, every write of
//     the batch fails with that error and nothing of the batch is
//     committed.
//   - Only the wait ends with the caller's context: canceled while still
//     queued, the write is dropped unrun and Run returns the context's
//     error. Once its batch has begun, the write runs to its end with the
//     context's values but without its cancellation, and Run waits for the
//     batch's outcome. The batch's transaction itself runs with a context
//     of its own, as its writes belong to many callers.
//
// A write must run its statements in the transaction and with the context
// it is given, never through the pool (whose one write connection its batch
// holds), and must not end the transaction itself.
package sqlitedb
