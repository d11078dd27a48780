/// The order of a server mechanism whose client sends exactly one message, either as the initial
/// response or in answer to an empty challenge (PLAIN, RFC 4616 §2; EXTERNAL, RFC 4422 App. A).
struct SingleMessageExchange {
    private enum State {
        case initial
        case awaitingMessage
        case done
    }

    private var state = State.initial

    /// The message to check now, or `nil` when the mechanism must first send an empty challenge.
    mutating func start(_ initialResponse: [UInt8]?, exchange: ServerExchange) throws(SASLError) -> [UInt8]? {
        switch state {
        case .initial:
            guard let initialResponse else {
                state = .awaitingMessage
                return nil
            }
            state = .done
            return initialResponse
        case .awaitingMessage, .done:
            state = .done
            throw exchange.invalidState("the exchange has already started")
        }
    }

    /// The client's answer to the empty challenge: the message to check.
    mutating func step(_ response: [UInt8], exchange: ServerExchange) throws(SASLError) -> [UInt8] {
        switch state {
        case .awaitingMessage:
            state = .done
            return response
        case .initial, .done:
            state = .done
            throw exchange.invalidState("no challenge is outstanding")
        }
    }
}
