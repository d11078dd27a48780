/// The RET parameter of MAIL (RFC 3461 §4.3): what a delivery status notification carries back.
public enum DSNReturn: String, Hashable, Sendable {
    /// `RET=FULL`: the whole message.
    case full = "FULL"
    /// `RET=HDRS`: the headers only.
    case headers = "HDRS"
}
