/// Renders a plan as JSON for tools: its `PlanDocument`, pretty-printed, secrets masked.
public struct PlanJSONRenderer {
    public var plan: Plan

    public init(plan: Plan) { self.plan = plan }

    public var document: PlanDocument { PlanDocument(plan: plan) }

    /// The whole text, ending with a newline.
    public func render() -> String {
        var bytes = document.encoded(redactor: plan.redactor, pretty: true)
        bytes.append(UInt8(ascii: "\n"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same text in chunks, as it is encoded (what `plan --format json` writes to stdout).
    public func write(to sink: (UnsafeRawBufferPointer) -> Void) {
        document.write(redactor: plan.redactor, pretty: true, to: sink)
        withUnsafeBytes(of: UInt8(ascii: "\n")) { sink($0) }
    }
}
