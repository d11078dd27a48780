extension StringProtocol {
    /// The text without white space (spaces, tabs, line ends) at either end.
    var mcTrimmed: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\n" || first == "\r" || first == "\r\n" {
            text.removeFirst()
        }
        while let last = text.last, last == " " || last == "\t" || last == "\n" || last == "\r" || last == "\r\n" {
            text.removeLast()
        }
        return String(text)
    }

    /// The words of the text, split at white space and (with `commas`) at commas.
    func mcWords(commas: Bool = false) -> [String] {
        Substring(self).split { (character: Character) -> Bool in
            character == " " || character == "\t" || character == "\n" || character == "\r" || character == "\r\n" || (commas && character == ",")
        }.map(String.init)
    }
}
