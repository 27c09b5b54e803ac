import Foundation
import RunbookCore

extension RunEvent {
    /// `notify.sent` / `notify.failed`: what became of telling one sink of one event. A failed
    /// delivery changes neither the run's outcome nor its exit code.
    public struct NotifyDelivery: RunEventPayload {
        /// The step the notified event concerns (a waiting gate, a failed precondition), if any.
        public var step: String?
        /// The sink's name (`notify:`).
        public var sink: String
        /// The event it was told of, e.g. `gate.waiting`.
        public var event: String
        public var attempts: Int
        /// Seconds from the event to the delivery (or to giving up).
        public var seconds: Double
        /// What answered (`HTTP 200`, `exit 0`), or why it failed, attempt by attempt.
        public var detail: String

        public init(step: String?, sink: String, event: String, attempts: Int, seconds: Double, detail: String) {
            self.step = step
            self.sink = sink
            self.event = event
            self.attempts = attempts
            self.seconds = seconds
            self.detail = detail
        }
    }
}
