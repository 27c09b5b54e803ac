import Foundation

extension Journal {
    /// Applies the batch `make` builds from the run and one of its steps as stored, in one
    /// IMMEDIATE transaction (see `RunJournal.commit(runID:nodeID:_:)`).
    @discardableResult
    public func commit(runID: String, nodeID: String, _ make: (RunRecord?, StepRecord?) throws -> JournalBatch)
        throws -> JournalCommit
    {
        try write { tx in
            let batch = try make(try tx.run(id: runID), try tx.step(runID: runID, nodeID: nodeID))
            return try tx.apply(batch)
        }
    }
}
